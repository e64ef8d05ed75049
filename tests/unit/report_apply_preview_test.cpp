// What apply shows before it asks: every line within the terminal's width, nothing dropped.
#include "report/apply_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tw::test {
namespace {

std::string joined(const std::vector<std::string>& lines)
{
  std::string out;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  return out;
}

// The plan's reason for tcp_tw_reuse runs to 160 columns; the preview wraps it under its change.
TEST(ReportApplyPreview, LongReasonsAndNotesWrapToTheWidth)
{
  const std::vector<JournalChange> changes = { { "net.ipv4.tcp_tw_reuse", "0", "1" } };
  const std::vector<std::string> reasons = {
    "let connect() take over TIME_WAIT ports (with tcp_tw_reuse_delay 1000 ms, 98% of each socket's 60 s is "
    "reusable: about 983 of the 1000 TIME_WAIT ports there at a time)"
  };
  const std::optional<JournalFile> file =
    JournalFile{ "/etc/sysctl.d", "90-tw-advisor.conf", ".90-tw-advisor.conf.tmp", std::nullopt, {} };
  const std::vector<std::string> notes = {
    "the last apply (20261206T010203Z-1234) changed net.ipv4.tcp_tw_reuse "
    "from 0 to 1; this one only persists it, so its rollback keeps 1"
  };
  const ApplyPreview p{
    true, changes, reasons, file, "/", std::chrono::seconds(0), "source NAT is in the path", notes
  };
  const auto lines = apply_preview_lines(p, 80);
  const std::string text = joined(lines);
  for (const auto& l : lines) {
    EXPECT_LE(l.size(), 80u) << l;
  }
  EXPECT_EQ(lines.front().rfind("tw-advisor apply: the runtime already holds", 0), 0u) << text;
  EXPECT_NE(text.find("\n  net.ipv4.tcp_tw_reuse: 0 -> 1\n    why: let connect()"), std::string::npos)
    << text;
  const auto continued = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("TIME_WAIT ports there") != std::string::npos;
  });
  ASSERT_NE(continued, lines.end()) << text;
  EXPECT_EQ(continued->rfind("         ", 0), 0u) << "continued under its reason, indented: " << text;
  EXPECT_NE(text.find("  persist: /etc/sysctl.d/90-tw-advisor.conf (new file)"), std::string::npos) << text;
  EXPECT_NE(text.find("  warning: source NAT is in the path"), std::string::npos) << text;
  EXPECT_NE(text.find("  note: the last apply"), std::string::npos) << text;
  EXPECT_NE(text.find("rollback keeps 1"), std::string::npos) << text;
}

} // namespace
} // namespace tw::test
