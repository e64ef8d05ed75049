// `tw-advisor monitor` in network namespaces: real bursts of TIME_WAIT, the textfile parsed by
// the real Prometheus parser, SIGTERM and SIGKILL mid-run leaving a whole textfile behind.
#include "support/netns.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

class MonitorLiveTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    TW_REQUIRE_NETNS();
    m_advisor = required_env("TW_ADVISOR_BIN");
    m_loadgen = required_env("TW_LOADGEN_BIN");
    m_dir = fs::temp_directory_path() / ("twa-monitor-live-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_dir);
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  std::string textfile() const
  {
    auto text = read_file(m_dir / "tw_advisor.prom", 1 << 20);
    return text ? *text : std::string();
  }

  // What the real parser and the conventions say of an exposition ("" when it is fine).
  static std::string problems_of(const std::string& exposition)
  {
    const RunResult r = run({ "/usr/bin/python3", required_env("TW_EXPOSITION_CHECKER") }, {}, exposition);
    return r.exit_code == 0 ? "" : r.out + r.err;
  }

  // The value of the one sample whose line starts with prefix (name and labels), or -1.
  static double sample(const std::string& text, const std::string& prefix)
  {
    for (const auto& line : split(text, '\n')) {
      if (line.substr(0, prefix.size()) == prefix) {
        return std::stod(std::string(line.substr(line.rfind(' ') + 1)));
      }
    }
    return -1.0;
  }

  std::string m_advisor;
  std::string m_loadgen;
  fs::path m_dir;
};

// A monitor running every second sees a burst of short outbound connections made during its run:
// the textfile shows it by role and by destination, the verdict, and the monitor's health; the
// real parser reads it.
TEST_F(MonitorLiveTest, ABurstDuringTheRunShowsInTheTextfile)
{
  HostPair pair("mburst");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40499");
  BackgroundProcess server(pair.server.exec_argv(
    { m_loadgen, "server", "--bind", pair.server_v4, "--port", "8080", "--timeout-ms", "60000" }));
  ASSERT_TRUE(server.wait_for_output("ready", std::chrono::seconds(10))) << server.output();
  BackgroundProcess monitor(pair.client.exec_argv(
    { m_advisor, "monitor", "--interval", "1", "--no-probe", "--textfile-dir", m_dir.string() }));
  const std::string ns = "netns=\"" + pair.client.name() + "\"";
  const std::string outbound = "tw_advisor_time_wait_sockets{" + ns + ",role=\"outbound\"}";
  for (int i = 0; i < 100 && sample(textfile(), outbound) < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(sample(textfile(), outbound), 0.0) << "before the burst\n" << textfile();
  const RunResult burst = pair.client.run({ m_loadgen,
                                            "client",
                                            "--connect",
                                            pair.server_v4,
                                            "--port",
                                            "8080",
                                            "--count",
                                            "400",
                                            "--close-first" });
  ASSERT_EQ(burst.exit_code, 0) << burst.err;
  // Some of the 400 end early (a peer's RST ends a TIME_WAIT: KERNEL-NOTES); most stay.
  for (int i = 0; i < 100 && sample(textfile(), outbound) < 300.0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string text = textfile();
  EXPECT_EQ(monitor.stop(), 0);
  EXPECT_EQ(problems_of(text), "") << text;
  EXPECT_GE(sample(text, outbound), 300.0) << text;
  EXPECT_EQ(sample(text, "tw_advisor_local_port_range_ports{" + ns + "}"), 500.0) << text;
  const std::string group =
    "{" + ns + ",local=\"" + pair.client_v4 + "\",destination=\"" + pair.server_v4 + ":8080\"}";
  EXPECT_GE(sample(text, "tw_advisor_destination_time_wait_sockets" + group), 300.0) << text;
  EXPECT_GE(sample(text, "tw_advisor_destination_time_wait_ratio" + group), 0.6) << text;
  EXPECT_EQ(sample(text, "tw_advisor_verdict{" + ns + ",verdict=\"helps\"}"), 1.0) << text;
  EXPECT_GE(sample(text, "tw_advisor_intervals_total"), 2.0) << text;
  EXPECT_EQ(sample(text, "tw_advisor_interval_errors_total"), 0.0) << text;
  EXPECT_GT(sample(text, "tw_advisor_last_success_timestamp_seconds"), 1.7e9) << text;
}

// SIGTERM between intervals ends it at once with 0; SIGKILL at any time leaves the previous
// textfile whole (written to a temp file and renamed).
TEST_F(MonitorLiveTest, SignalsEndItCleanlyAndAKillLeavesAWholeTextfile)
{
  Netns ns("msig");
  BackgroundProcess slow(ns.exec_argv(
    { m_advisor, "monitor", "--interval", "60", "--no-probe", "--textfile-dir", m_dir.string() }));
  for (int i = 0; i < 100 && textfile().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(textfile().empty());
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(slow.stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(3))
    << "it waited for the interval";

  const fs::path own = m_dir / "killed"; // its own directory: what is there, it wrote
  fs::create_directories(own);
  BackgroundProcess fast(
    ns.exec_argv({ m_advisor, "monitor", "--interval", "1", "--no-probe", "--textfile-dir", own.string() }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  ::kill(fast.pid(), SIGKILL);
  fast.stop();
  const auto killed = read_file(own / "tw_advisor.prom", 1 << 20);
  ASSERT_TRUE(killed) << "no textfile after 2.3 s of 1 s intervals";
  EXPECT_EQ(problems_of(*killed), "") << *killed;
  EXPECT_GE(sample(*killed, "tw_advisor_intervals_total"), 1.0) << *killed;
  for (const auto& entry : fs::directory_iterator(own)) {
    // A temp file a kill left behind must not be one node_exporter reads (it reads *.prom).
    if (entry.path().filename() != "tw_advisor.prom") {
      EXPECT_NE(entry.path().extension(), ".prom") << entry.path();
    }
  }
}

// A textfile directory that does not exist is an error before the first interval, naming it.
TEST_F(MonitorLiveTest, AMissingTextfileDirIsAnErrorNamingIt)
{
  Netns ns("mdir");
  const RunResult r = ns.run(
    { m_advisor, "monitor", "--count", "1", "--no-probe", "--textfile-dir", (m_dir / "nope").string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((m_dir / "nope").string()), std::string::npos) << r.err;
}

// As root the probe stays attached: the textfile says so.
TEST_F(MonitorLiveTest, TheProbeStaysAttachedAsRoot)
{
  Netns ns("mprobe");
  const RunResult r =
    ns.run({ m_advisor, "monitor", "--interval", "1", "--count", "1", "--textfile-dir", m_dir.string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = textfile();
  EXPECT_EQ(problems_of(text), "") << text;
  EXPECT_EQ(sample(text, "tw_advisor_probe_attached{netns=\"" + ns.name() + "\"}"), 1.0) << text << r.err;
}

} // namespace
} // namespace tw::test
