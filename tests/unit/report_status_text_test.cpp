// `tw-advisor status` for people: every line within the width it is given (the terminal's), long
// notes and drift wrapped under their indent, nothing of the text lost in the wrapping.
#include "report/status.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace tw::test {
namespace {

StatusReport drifted_apply()
{
  StatusReport r;
  r.state_dir = "/var/lib/tw-advisor";
  r.has_journal = true;
  r.journal.id = "20261205T060000Z-4242";
  r.journal.state = JournalState::done;
  r.journal.updated_at = "2026-12-05T06:00:10Z";
  r.journal.plan_source = "/srv/plans/web-01.json";
  r.journal.plan_sha256 = std::string(64, 'a');
  r.condition = StatusCondition::done;
  KeyStatus k;
  k.key = "net.ipv4.ip_local_port_range";
  k.old_value = "32768 60999";
  k.new_value = "10000 65000";
  k.runtime = "32768 60999";
  k.persisted = "10000 65000";
  k.boot = BootSetting{ "10000 65000", "/etc/sysctl.d/90-tw-advisor.conf:3" };
  k.drift = { "the runtime value 32768 60999 is not the applied 10000 65000: someone set it after the apply; "
              "plan again before rolling back" };
  r.keys.push_back(k);
  r.files.push_back({ "/etc/sysctl.d/90-tw-advisor.conf", true, true, false, false });
  r.drifted = true;
  r.notes = {
    "a note long enough that it needs two lines at sixty columns, and maybe three of them at that"
  };
  r.next = "plan again, then `tw-advisor rollback --state-dir /var/lib/tw-advisor` if the change is unwanted";
  return r;
}

// Each line fits, unless it is, after its indent, one unbreakable token or one `command` (with
// at most a punctuation mark after it): wrap_text never breaks those.
void expect_fits(const std::string& text, std::size_t width)
{
  for (const auto line : split(text, '\n')) {
    if (visible_width(line) <= width) {
      continue;
    }
    const std::string_view body = trim(line);
    const auto close = body.rfind('`');
    const bool one_command = body.front() == '`' && close != 0 && close + 2 >= body.size();
    EXPECT_TRUE(split_ws(body).size() == 1 || one_command)
      << "over " << width << " columns: [" << line << "]";
  }
}

// The words of the text, whatever the line breaks.
std::string words_of(const std::string& text)
{
  std::string out;
  for (const auto w : split_ws(text)) {
    out += std::string(w) + " ";
  }
  return out;
}

TEST(ReportStatusText, EveryLineFitsTheWidthAndNothingIsLost)
{
  const StatusReport r = drifted_apply();
  const std::string wide = status_to_text(r, 1000);
  for (const std::size_t width : { 80U, 60U, 40U }) {
    const std::string text = status_to_text(r, width);
    expect_fits(text, width);
    EXPECT_EQ(words_of(text), words_of(wide)) << width;
  }
  const std::string at60 = status_to_text(r, 60);
  EXPECT_NE(at60.find("\n    drift: the runtime value"), std::string::npos) << at60;
  EXPECT_NE(at60.find("\n      "), std::string::npos) << "a wrapped drift line continues under its indent";
  EXPECT_NE(at60.find("\nnote: a note long enough"), std::string::npos) << at60;
  EXPECT_NE(wide.find("Next: plan again"), std::string::npos) << wide;
}

// "done (journal state done, ...)" said it twice; the state is named only where it says more.
TEST(ReportStatusText, TheJournalStateIsNamedOnlyWhereItDiffersFromTheCondition)
{
  StatusReport r = drifted_apply();
  r.journal.state = JournalState::done;
  const std::string done = status_to_text(r, 1000);
  EXPECT_NE(done.find(": done (updated "), std::string::npos) << done;
  EXPECT_EQ(done.find("journal state"), std::string::npos) << done;
  r.condition = StatusCondition::interrupted;
  r.journal.state = JournalState::persisting;
  const std::string interrupted = status_to_text(r, 1000);
  EXPECT_NE(interrupted.find(": interrupted (journal state persisting, updated "), std::string::npos)
    << interrupted;
}

TEST(ReportStatusText, ADamagedJournalsStepsWrapUnderTheirNumbers)
{
  StatusReport r = drifted_apply();
  r.condition = StatusCondition::damaged;
  r.journal_error = "/var/lib/tw-advisor/journal.json: line 3: unexpected end of input";
  r.recovery = { "write 32768 60999 to /proc/sys/net/ipv4/ip_local_port_range (the value before the apply)",
                 "remove /etc/sysctl.d/90-tw-advisor.conf, which the apply wrote" };
  const std::string text = status_to_text(r, 50);
  expect_fits(text, 50);
  EXPECT_EQ(words_of(text), words_of(status_to_text(r, 1000)));
  EXPECT_NE(text.find("\n  1. write 32768"), std::string::npos) << text;
  EXPECT_NE(text.find("\n     "), std::string::npos) << "a step continues under its text, past its number";
}

} // namespace
} // namespace tw::test
