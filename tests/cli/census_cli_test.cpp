// The census subcommand as an operator runs it: flags, help, and running without root.
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

namespace tw::test {
namespace {

TEST(CensusCli, UnknownFlagExitsOneWithAClearMessage)
{
  const auto r = run({ required_env("TW_ADVISOR_BIN"), "census", "--bogus" });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tw-advisor: error:"), std::string::npos) << r.err;
}

TEST(CensusCli, BadFormatAndTopAreRefused)
{
  const auto f = run({ required_env("TW_ADVISOR_BIN"), "census", "--format", "yaml" });
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_NE(f.err.find("yaml"), std::string::npos) << f.err;
  const auto t = run({ required_env("TW_ADVISOR_BIN"), "census", "--top", "0" });
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.err.find("--top"), std::string::npos) << t.err;
}

TEST(CensusCli, HelpExplainsTheRoles)
{
  const auto r = run({ required_env("TW_ADVISOR_BIN"), "census", "--help" });
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : { "outbound", "inbound", "unknown", "pressure", "--format", "--top" }) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  }
}

TEST(CensusCli, JsonIsOneParsableObject)
{
  const auto r = run({ required_env("TW_ADVISOR_BIN"), "census", "--format", "json", "--top", "3" });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["available"], true);
  EXPECT_LE(j["groups"].size(), 6U); // the top 3 by pressure and the top 3 by time_wait
  for (const char* key :
       { "states", "time_wait", "groups", "timestamps", "port_range", "usable_ports", "total", "notes" }) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(CensusCli, RunsWithoutRoot)
{
  if (::geteuid() != 0) {
    GTEST_SKIP() << "already not root; JsonIsOneParsableObject covers this run";
  }
  const auto probe = run({ "setpriv", "--version" });
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  }
  const auto r = run({ "setpriv",
                       "--reuid=65534",
                       "--regid=65534",
                       "--clear-groups",
                       required_env("TW_ADVISOR_BIN"),
                       "census",
                       "--format",
                       "json" });
  // sock_diag dumps need no privilege: a non-root run must succeed, not merely fail clearly.
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["available"], true) << r.out;
  EXPECT_TRUE(j["error"].is_null()) << r.out;
  EXPECT_TRUE(j["states"].is_object()) << r.out;
}

} // namespace
} // namespace tw::test
