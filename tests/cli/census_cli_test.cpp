// The census subcommand as an operator runs it: flags, help, and running without root.
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <stdlib.h>
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

// A temporary directory removed at the end of the test, also when it fails.
class TempDir
{
public:
  TempDir()
  {
    char tmpl[] = "/tmp/tw-census-cli.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(m_path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

// The replay of a recording is the census the recording run printed, byte for byte (in JSON all
// but the header's generated_at, which says when each document was made), and in text from a
// second recording of the same sockets.
TEST(CensusCli, FromDumpPrintsTheCensusItsRecordingRunPrinted)
{
  const TempDir dir;
  const std::string bin = required_env("TW_ADVISOR_BIN");
  const std::string rec = (dir.path() / "here.twdump").string();
  const auto live = run({ bin, "census", "--dump-file", rec, "--format", "json", "--top", "50" });
  ASSERT_EQ(live.exit_code, 0) << live.err;
  const auto replay = run({ bin, "census", "--from-dump", rec, "--format", "json", "--top", "50" });
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const auto without_time = [](const std::string& out) {
    auto doc = nlohmann::json::parse(out);
    doc.erase("generated_at");
    return doc;
  };
  EXPECT_EQ(without_time(replay.out), without_time(live.out));
  EXPECT_EQ(replay.err, "");

  const std::string rec_text = (dir.path() / "text.twdump").string();
  const auto live_text = run({ bin, "census", "--dump-file", rec_text, "--no-timestamps" });
  ASSERT_EQ(live_text.exit_code, 0) << live_text.err;
  const auto replay_text = run({ bin, "census", "--from-dump", rec_text });
  ASSERT_EQ(replay_text.exit_code, 0) << replay_text.err;
  EXPECT_EQ(replay_text.out, live_text.out) << "the recording carries --no-timestamps along";
  EXPECT_EQ(std::filesystem::status(rec).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// The committed recordings (made from real sockets in namespaces) replay through the CLI on any
// host: the host's own sockets and sysctls play no part.
TEST(CensusCli, CommittedRecordingsReplayAnywhere)
{
  const std::string data = required_env("TW_TEST_DATA");
  const auto r = run({ required_env("TW_ADVISOR_BIN"),
                       "census",
                       "--from-dump",
                       data + "/census-dumps/client.twdump",
                       "--format",
                       "json" });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["port_range"]["low"], 40000) << "the recorded range, not this host's";
  EXPECT_GT(j["time_wait"]["outbound"].get<long>(), 0);
  const auto text =
    run({ required_env("TW_ADVISOR_BIN"), "census", "--from-dump", data + "/census-dumps/server.twdump" });
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("inbound"), std::string::npos) << text.out;
}

TEST(CensusCli, RecordingOptionsAreCheckedAndExplained)
{
  const TempDir dir;
  const std::string bin = required_env("TW_ADVISOR_BIN");
  const auto help = run({ bin, "census", "--help" });
  for (const char* word : { "--dump-file", "--from-dump", "exactly the bytes the kernel returned", "0600" }) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word << "\n" << help.out;
  }

  const std::string rec = (dir.path() / "r.twdump").string();
  const auto both = run({ bin, "census", "--from-dump", rec, "--dump-file", rec });
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  const auto no_ts = run({ bin, "census", "--from-dump", rec, "--no-timestamps" });
  EXPECT_EQ(no_ts.exit_code, 1);
  EXPECT_NE(no_ts.err.find("--no-timestamps"), std::string::npos) << no_ts.err;

  const auto missing = run({ bin, "census", "--from-dump", rec });
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "tw-advisor: error: " + rec + ": No such file or directory\n");

  const std::string not_rec = (dir.path() / "ss.txt").string();
  std::ofstream(not_rec) << "State Recv-Q Send-Q\n";
  const auto wrong = run({ bin, "census", "--from-dump", not_rec });
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find(not_rec + ": not a census recording"), std::string::npos) << wrong.err;

  const std::string nowhere = (dir.path() / "no-dir" / "r.twdump").string();
  const auto bad_dir = run({ bin, "census", "--dump-file", nowhere });
  EXPECT_EQ(bad_dir.exit_code, 1);
  EXPECT_NE(bad_dir.err.find(nowhere), std::string::npos) << bad_dir.err;
  EXPECT_NE(bad_dir.err.find("No such file or directory"), std::string::npos) << bad_dir.err;
  EXPECT_EQ(bad_dir.out, "") << "no census without its recording";
}

} // namespace
} // namespace tw::test
