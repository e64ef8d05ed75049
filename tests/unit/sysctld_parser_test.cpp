#include "sysctld/parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace tw::sysctld {
namespace {

const Problem* find_problem(const ParsedFile& parsed, const std::string& id)
{
  const auto it = std::find_if(
    parsed.problems.begin(), parsed.problems.end(), [&](const Problem& p) { return p.id == id; });
  return it == parsed.problems.end() ? nullptr : &*it;
}

TEST(SysctldParser, CommentsBlankLinesAndOptionalSpaces)
{
  const auto parsed = parse_sysctl_conf("# comment\n"
                                        "   # indented comment\n"
                                        "\t; semicolon comment\n"
                                        "\n"
                                        "net.ipv4.tcp_tw_reuse=1\n"
                                        "   net.ipv4.tcp_timestamps   =   1   \n",
                                        "f.conf");
  ASSERT_EQ(parsed.entries.size(), 2U);
  EXPECT_TRUE(parsed.problems.empty());
  EXPECT_EQ(parsed.entries[0].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(parsed.entries[0].value, "1");
  EXPECT_EQ(parsed.entries[0].line, 5U);
  EXPECT_EQ(parsed.entries[1].key, "net.ipv4.tcp_timestamps");
  EXPECT_EQ(parsed.entries[1].value, "1");
  EXPECT_EQ(parsed.entries[1].line, 6U);
  EXPECT_EQ(parsed.entries[1].file, "f.conf");
}

TEST(SysctldParser, NoTrailingCommentsAndEqualsInsideTheValue)
{
  // Both loaders take everything after the first '=' as the value, '#' and '=' included.
  const auto parsed = parse_sysctl_conf("net.ipv4.tcp_tw_reuse = 1 # turn it on\n"
                                        "kernel.core_pattern = |/bin/x a=b\n",
                                        "f.conf");
  ASSERT_EQ(parsed.entries.size(), 2U);
  EXPECT_EQ(parsed.entries[0].value, "1 # turn it on");
  EXPECT_EQ(parsed.entries[1].value, "|/bin/x a=b");
  const auto* p = find_problem(parsed, "trailing-comment");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->line, 1U);
  EXPECT_EQ(p->severity, Severity::warning);
  EXPECT_EQ(p->key, "net.ipv4.tcp_tw_reuse");
  // '#' inside a word is not a comment marker.
  EXPECT_EQ(find_problem(parse_sysctl_conf("a.b = x#y\n", "g"), "trailing-comment"), nullptr);
}

TEST(SysctldParser, SlashAndDotSeparatorsNormaliseToDotted)
{
  const auto parsed = parse_sysctl_conf("net/ipv4/conf/eth0.100/rp_filter = 2\n"
                                        "net.ipv4.conf.eth0/100.rp_filter = 1\n"
                                        "net/ipv4/tcp_tw_reuse = 1\n",
                                        "f.conf");
  ASSERT_EQ(parsed.entries.size(), 3U);
  EXPECT_EQ(parsed.entries[0].key, "net.ipv4.conf.eth0/100.rp_filter");
  EXPECT_EQ(parsed.entries[1].key, "net.ipv4.conf.eth0/100.rp_filter");
  EXPECT_EQ(parsed.entries[2].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(key_to_path(parsed.entries[0].key), "net/ipv4/conf/eth0.100/rp_filter");
  // Set twice in one file: the later line wins, and the parser says so.
  const auto* dup = find_problem(parsed, "duplicate-key");
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(dup->line, 2U);
}

TEST(SysctldParser, RepeatedSeparatorsAreDroppedWithAWarning)
{
  const auto k = normalize_key("net..ipv4.tcp_tw_reuse");
  ASSERT_TRUE(k.key.has_value());
  EXPECT_EQ(*k.key, "net.ipv4.tcp_tw_reuse");
  EXPECT_TRUE(k.repeated_separator);
  const auto s = normalize_key("/net/ipv4//tcp_tw_reuse/");
  ASSERT_TRUE(s.key.has_value());
  EXPECT_EQ(*s.key, "net.ipv4.tcp_tw_reuse");
  EXPECT_FALSE(normalize_key("net.ipv4.tcp_tw_reuse").repeated_separator);
}

TEST(SysctldParser, DashPrefixIgnoresFailureAndDashAloneExcludes)
{
  const auto parsed = parse_sysctl_conf("-net.ipv4.tcp_tw_recycle = 1\n"
                                        "-net.ipv4.conf.eth0.rp_filter\n",
                                        "f.conf");
  ASSERT_EQ(parsed.entries.size(), 2U);
  EXPECT_TRUE(parsed.entries[0].ignore_failure);
  EXPECT_EQ(parsed.entries[0].key, "net.ipv4.tcp_tw_recycle");
  EXPECT_FALSE(parsed.entries[0].is_exclusion());
  EXPECT_TRUE(parsed.entries[1].is_exclusion());
  EXPECT_EQ(parsed.entries[1].key, "net.ipv4.conf.eth0.rp_filter");
  EXPECT_TRUE(parsed.problems.empty());
}

TEST(SysctldParser, SpaceAfterDashIsAnErrorBecauseProcpsKeepsIt)
{
  const auto parsed = parse_sysctl_conf("- net.ipv4.tcp_tw_reuse = 1\n", "f.conf");
  const auto* p = find_problem(parsed, "dash-space");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::error);
  EXPECT_EQ(p->line, 1U);
}

TEST(SysctldParser, GlobKeysAreMarkedAndMatchPerComponent)
{
  const auto parsed = parse_sysctl_conf("net.ipv4.conf.*.rp_filter = 2\n", "f.conf");
  ASSERT_EQ(parsed.entries.size(), 1U);
  EXPECT_TRUE(parsed.entries[0].glob);
  EXPECT_TRUE(glob_matches("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0.rp_filter"));
  EXPECT_TRUE(glob_matches("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0/100.rp_filter"));
  EXPECT_FALSE(glob_matches("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.a.b.rp_filter"));
  EXPECT_FALSE(glob_matches("net.ipv4.*", "net.ipv4.conf.all.rp_filter"));
  EXPECT_TRUE(glob_matches("net.ipv4.conf.eth?.rp_filter", "net.ipv4.conf.eth1.rp_filter"));
  EXPECT_FALSE(is_glob("net.ipv4.tcp_tw_reuse"));
}

TEST(SysctldParser, EveryProblemNamesFileAndLine)
{
  const auto parsed = parse_sysctl_conf("net.ipv4.tcp_tw_reuse = 1\n"
                                        "this line has no equals sign\n"
                                        "= 1\n"
                                        "net.ipv4.../../x = 1\n"
                                        "net.ipv4.tcp tw_reuse = 1\n"
                                        "net.ipv4.tcp_timestamps = \"1\"\n",
                                        "/tmp/x.conf");
  ASSERT_EQ(parsed.entries.size(), 2U);
  const auto* na = find_problem(parsed, "not-assignment");
  ASSERT_NE(na, nullptr);
  EXPECT_EQ(na->line, 2U);
  EXPECT_EQ(na->file, "/tmp/x.conf");
  EXPECT_EQ(na->severity, Severity::error);
  const auto* empty = find_problem(parsed, "empty-key");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->line, 3U);
  std::vector<unsigned> bad_lines;
  for (const auto& p : parsed.problems) {
    if (p.id == "bad-key") {
      bad_lines.push_back(p.line);
    }
  }
  EXPECT_EQ(bad_lines, (std::vector<unsigned>{ 4U, 5U }));
  const auto* quoted = find_problem(parsed, "quoted-value");
  ASSERT_NE(quoted, nullptr);
  EXPECT_EQ(quoted->line, 6U);
}

TEST(SysctldParser, CrLfAndNoFinalNewline)
{
  const auto parsed = parse_sysctl_conf("net.ipv4.tcp_tw_reuse = 1\r\n\r\nnet.ipv4.tcp_timestamps = 1", "f");
  ASSERT_EQ(parsed.entries.size(), 2U);
  EXPECT_EQ(parsed.entries[0].value, "1");
  EXPECT_EQ(parsed.entries[1].line, 3U);
  EXPECT_TRUE(parsed.problems.empty());
}

TEST(SysctldParser, ControlCharactersInAValueAreRefused)
{
  const auto parsed = parse_sysctl_conf(std::string("net.ipv4.tcp_tw_reuse = 1\x1b[0m\n"), "f");
  EXPECT_TRUE(parsed.entries.empty());
  ASSERT_NE(find_problem(parsed, "bad-value"), nullptr);
}

TEST(SysctldParser, EscapeTextKeepsUtf8AndEscapesInvalidBytesAndControls)
{
  EXPECT_EQ(escape_text("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac"); // valid UTF-8 kept
  EXPECT_EQ(escape_text(std::string("\xff\xfe bin\x00", 7)), "\\xff\\xfe bin\\x00");
  EXPECT_EQ(escape_text("a\tb\x1b"), "a\\x09b\\x1b");
  EXPECT_EQ(escape_text("\xc3"), "\\xc3");                   // truncated sequence
  EXPECT_EQ(escape_text("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(escape_text("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // UTF-16 surrogate
  const auto parsed = parse_sysctl_conf(std::string("\xff\xfe bin\x00\n", 8), "f.conf");
  ASSERT_EQ(parsed.problems.size(), 1U);
  EXPECT_NE(parsed.problems[0].message.find("\\xff\\xfe bin\\x00"), std::string::npos)
    << parsed.problems[0].message;
}

} // namespace
} // namespace tw::sysctld
