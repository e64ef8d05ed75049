// The audit log's entries: the journald fields of each event, and the stderr line without a
// journal (doc/audit.md).
#include "audit/audit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace tw::test {
namespace {

Journal two_key_journal()
{
  Journal j;
  j.id = "2026-12-03T21:12:00Z-4242";
  j.plan_source = "/root/plan.json";
  j.plan_sha256 = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
  j.netns_inode = 4026531840;
  j.changes = { { "net.ipv4.tcp_timestamps", "0", "1" }, { "net.ipv4.tcp_tw_reuse", "0", "1" } };
  return j;
}

bool has(const std::vector<std::string>& fields, const std::string& field)
{
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

TEST(Audit, EveryKindHasItsOwnMessageIdOf128Bits)
{
  std::set<std::string> seen;
  for (const AuditKind kind : { AuditKind::applied,
                                AuditKind::apply_failed,
                                AuditKind::rolled_back,
                                AuditKind::watch_rolled_back,
                                AuditKind::verdict_changed,
                                AuditKind::rollback_incomplete }) {
    const std::string id = message_id(kind);
    EXPECT_EQ(id.size(), 32u) << to_string(kind);
    EXPECT_TRUE(std::all_of(id.begin(),
                            id.end(),
                            [](char c) {
                              return std::isxdigit(static_cast<unsigned char>(c)) &&
                                     !std::isupper(static_cast<unsigned char>(c));
                            }))
      << id;
    EXPECT_TRUE(seen.insert(id).second) << "twice: " << id;
  }
}

// One entry per key written, with the key, both values, the journal, the plan and the reason.
TEST(Audit, AnApplyIsOneEntryPerKeyWithItsFields)
{
  const auto events =
    journal_events(AuditKind::applied, two_key_journal(), "apply 2026-12-03T21:12:00Z-4242", "");
  ASSERT_EQ(events.size(), 2u);
  const auto fields = journal_fields(events[1]);
  EXPECT_EQ(fields[0], "MESSAGE_ID=c385e0a2b9fb4d678664bf357bd0eeb0");
  EXPECT_EQ(fields[1], "MESSAGE=apply 2026-12-03T21:12:00Z-4242: net.ipv4.tcp_tw_reuse 0 -> 1");
  EXPECT_TRUE(has(fields, "PRIORITY=5"));
  EXPECT_TRUE(has(fields, "SYSLOG_IDENTIFIER=tw-advisor"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_EVENT=applied"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_KEY=net.ipv4.tcp_tw_reuse"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_OLD=0"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_NEW=1"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_JOURNAL=2026-12-03T21:12:00Z-4242"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_PLAN_SHA256=" + two_key_journal().plan_sha256));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_PLAN_SOURCE=/root/plan.json"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_NETNS=4026531840"));
  for (const auto& f : fields) {
    EXPECT_EQ(f.rfind("TW_ADVISOR_REASON=", 0), std::string::npos) << "no reason for an apply: " << f;
  }
}

// A failed apply names only the keys it had written; a rollback says which way the value went.
TEST(Audit, AFailedApplyNamesTheKeysItWroteAndARollbackItsReason)
{
  const auto failed =
    journal_events(AuditKind::apply_failed, two_key_journal(), "apply X failed, undone", "EPERM", 1);
  ASSERT_EQ(failed.size(), 1u);
  const auto fields = journal_fields(failed[0]);
  EXPECT_TRUE(has(fields, "PRIORITY=4"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_KEY=net.ipv4.tcp_timestamps"));
  EXPECT_TRUE(has(fields, "TW_ADVISOR_REASON=EPERM"));
  EXPECT_EQ(failed[0].message, "apply X failed, undone: net.ipv4.tcp_timestamps left at 0 (not 1)");

  const auto back = journal_events(
    AuditKind::watch_rolled_back, two_key_journal(), "the watch rolled back", "EADDRNOTAVAIL rose\nby 3/s");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].message, "the watch rolled back: net.ipv4.tcp_tw_reuse back to 0 (was 1)");
  // A value is one line: the journal would take a newline, the stderr line would break.
  EXPECT_TRUE(has(journal_fields(back[1]), "TW_ADVISOR_REASON=EADDRNOTAVAIL rose by 3/s"));
  EXPECT_TRUE(has(journal_fields(back[1]), "MESSAGE_ID=d03ff942b65147d3b60448bf79d731e0"));
}

// Without a journal: one line, every field NAME=value, values quoted for a shell when needed.
TEST(Audit, TheStderrLineCarriesTheSameFields)
{
  const auto events = journal_events(AuditKind::rolled_back,
                                     two_key_journal(),
                                     "rollback of apply X",
                                     "rolled back on request (tw-advisor rollback)");
  const std::string line = audit_line(events[0]);
  EXPECT_EQ(line.rfind("tw-advisor audit: MESSAGE_ID=3187219803ca4cfeb4953bcc102fe146 ", 0), 0u) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_NE(line.find(" TW_ADVISOR_EVENT=rolled-back"), std::string::npos) << line;
  EXPECT_NE(line.find(" TW_ADVISOR_KEY=net.ipv4.tcp_timestamps"), std::string::npos) << line;
  EXPECT_NE(line.find(" TW_ADVISOR_OLD=0 TW_ADVISOR_NEW=1"), std::string::npos) << line;
  EXPECT_NE(line.find(" TW_ADVISOR_REASON='rolled back on request (tw-advisor rollback)'"), std::string::npos)
    << line;
  EXPECT_NE(line.find(" MESSAGE='rollback of apply X: net.ipv4.tcp_timestamps back to 0 (was 1)'"),
            std::string::npos)
    << line;
  EXPECT_EQ(line.find("PRIORITY"), std::string::npos) << line;
}

} // namespace
} // namespace tw::test
