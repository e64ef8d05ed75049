// `tw-advisor monitor` in network namespaces: real bursts of TIME_WAIT, the textfile parsed by
// the real Prometheus parser, SIGTERM and SIGKILL mid-run leaving a whole textfile behind.
#include "support/netns.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

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

  // The monitor's own state dir (its history): never the host's /var/lib/tw-advisor.
  std::string state() const { return (m_dir / "state").string(); }

  std::string textfile() const
  {
    auto text = read_file(m_dir / "tw_advisor.prom", 1 << 20);
    return text ? *text : std::string();
  }

  // The loadgen server on the pair's server side, port 8080.
  std::vector<std::string> server_argv(const HostPair& pair) const
  {
    return pair.server.exec_argv(
      { m_loadgen, "server", "--bind", pair.server_v4, "--port", "8080", "--timeout-ms", "60000" });
  }

  // count short connections from the pair's client to its server, the client closing first.
  std::vector<std::string> burst_argv(const HostPair& pair, int count) const
  {
    return { m_loadgen, "client",  "--connect",           pair.server_v4, "--port",
             "8080",    "--count", std::to_string(count), "--close-first" };
  }

  // 13 connects from the pair's client (10 source ports: the last ones fail with EADDRNOTAVAIL),
  // with how to use the 10 (extra: --hold or --close-first); the EADDRNOTAVAIL it saw.
  std::uint64_t failing_client(const HostPair& pair, std::vector<std::string> extra) const
  {
    std::vector<std::string> argv = { m_loadgen, "client",  "--connect", pair.server_v4, "--port",
                                      "8080",    "--count", "13",        "--json" };
    argv.insert(argv.end(), extra.begin(), extra.end());
    const RunResult r = pair.client.run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(std::string(split(trim(r.out), '\n').front()))
      .at("eaddrnotavail")
      .get<std::uint64_t>();
  }

  // The EADDRNOTAVAIL a history file recorded, over its lines; each line's netns_inode checked
  // against inode when given.
  static std::uint64_t recorded_failures(const fs::path& file, std::uint64_t inode = 0)
  {
    const auto read = read_file(file, 1 << 24);
    EXPECT_TRUE(read) << file;
    const std::string text = read ? *read : std::string(); // split() returns views into it
    std::uint64_t recorded = 0;
    for (const auto& line : split(text, '\n')) {
      if (line.empty()) {
        continue;
      }
      const auto record = nlohmann::json::parse(line);
      if (inode != 0) {
        EXPECT_EQ(record.value("netns_inode", std::uint64_t{ 0 }), inode) << line;
      }
      for (const auto& f : record.value("failures", nlohmann::json::array())) {
        recorded += f.value("eaddrnotavail", std::uint64_t{ 0 });
      }
    }
    return recorded;
  }

  // A monitor every second in ns, without the probe, into this test's textfile and state dirs.
  std::vector<std::string> monitor_argv(const Netns& ns) const
  {
    return ns.exec_argv({ m_advisor,
                          "monitor",
                          "--interval",
                          "1",
                          "--no-probe",
                          "--textfile-dir",
                          m_dir.string(),
                          "--state-dir",
                          state() });
  }

  // Waits (at most 5 s) until the textfile's sample of series satisfies done.
  template<typename Done>
  void wait_for(const std::string& series, Done done) const
  {
    for (int i = 0; i < 100 && !done(sample(textfile(), series)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
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
  BackgroundProcess server(server_argv(pair));
  ASSERT_TRUE(server.wait_for_output("ready", std::chrono::seconds(10))) << server.output();
  BackgroundProcess monitor(monitor_argv(pair.client));
  const std::string ns = "netns=\"" + pair.client.name() + "\"";
  const std::string outbound = "tw_advisor_time_wait_sockets{" + ns + ",role=\"outbound\"}";
  wait_for(outbound, [](double v) { return v >= 0; });
  ASSERT_EQ(sample(textfile(), outbound), 0.0) << "before the burst\n" << textfile();
  const RunResult burst = pair.client.run(burst_argv(pair, 400));
  ASSERT_EQ(burst.exit_code, 0) << burst.err;
  // Some of the 400 end early (a peer's RST ends a TIME_WAIT: KERNEL-NOTES); most stay.
  wait_for(outbound, [](double v) { return v >= 300.0; });
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
  BackgroundProcess slow(ns.exec_argv({ m_advisor,
                                        "monitor",
                                        "--interval",
                                        "60",
                                        "--no-probe",
                                        "--textfile-dir",
                                        m_dir.string(),
                                        "--state-dir",
                                        state() }));
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
  BackgroundProcess fast(ns.exec_argv({ m_advisor,
                                        "monitor",
                                        "--interval",
                                        "1",
                                        "--no-probe",
                                        "--textfile-dir",
                                        own.string(),
                                        "--state-dir",
                                        (own / "state").string() }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  ::kill(fast.pid(), SIGKILL);
  fast.stop();
  const auto killed = read_file(own / "tw_advisor.prom", 1 << 20);
  ASSERT_TRUE(killed) << "no textfile after 2.3 s of 1 s intervals";
  EXPECT_EQ(problems_of(*killed), "") << *killed;
  EXPECT_GE(sample(*killed, "tw_advisor_intervals_total"), 1.0) << *killed;
  // The history the kill may have torn is still read: every whole line, the torn tail skipped.
  const nlohmann::json plan =
    advisor_json(ns, m_advisor, { "plan", "--since", "5m", "--state-dir", (own / "state").string() });
  ASSERT_TRUE(plan.contains("facts")) << plan.dump();
  const auto& history = plan["facts"]["history"];
  EXPECT_TRUE(history.value("available", false)) << history.dump();
  EXPECT_GE(history.value("records", 0), 1) << history.dump();
  for (const auto& entry : fs::directory_iterator(own)) {
    // A temp file a kill left behind must not be one node_exporter reads (it reads *.prom).
    if (entry.path().filename() != "tw_advisor.prom") {
      EXPECT_NE(entry.path().extension(), ".prom") << entry.path();
    }
  }
}

// The burst is over (its TIME_WAIT destroyed, as 60 s would), and the live plan says irrelevant;
// plan --since reads the monitor's history, judges the peak it recorded and says helps, quoting
// when. The history file is one whole JSON line per interval.
TEST_F(MonitorLiveTest, PlanSinceStillSeesABurstThatHasEnded)
{
  HostPair pair("mhist");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40499");
  BackgroundProcess server(server_argv(pair));
  ASSERT_TRUE(server.wait_for_output("ready", std::chrono::seconds(10))) << server.output();
  BackgroundProcess monitor(monitor_argv(pair.client));
  const std::string ns = "netns=\"" + pair.client.name() + "\"";
  const std::string outbound = "tw_advisor_time_wait_sockets{" + ns + ",role=\"outbound\"}";
  wait_for(outbound, [](double v) { return v >= 0; });
  const RunResult burst = pair.client.run(burst_argv(pair, 400));
  ASSERT_EQ(burst.exit_code, 0) << burst.err;
  wait_for(outbound, [](double v) { return v >= 300.0; });
  ASSERT_GE(sample(textfile(), outbound), 300.0) << textfile();
  // The burst ends: its TIME_WAIT destroyed (SOCK_DESTROY), as the 60 s would.
  const RunResult killed = pair.client.run({ "ss", "-K", "state", "time-wait" });
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  wait_for(outbound, [](double v) { return v == 0.0; });
  ASSERT_EQ(sample(textfile(), outbound), 0.0) << "the monitor saw the end of the burst\n" << textfile();
  EXPECT_EQ(monitor.stop(), 0);

  const nlohmann::json live = advisor_json(pair.client, m_advisor, { "plan", "--state-dir", state() });
  EXPECT_EQ(live.value("verdict", ""), "irrelevant") << live.dump(2);
  EXPECT_FALSE(live["facts"].contains("history"));

  const nlohmann::json since =
    advisor_json(pair.client, m_advisor, { "plan", "--since", "5m", "--state-dir", state() });
  EXPECT_EQ(since.value("verdict", ""), "helps") << since.dump(2);
  EXPECT_NE(since["reasons"].dump().find("at its peak at "), std::string::npos) << since["reasons"].dump(2);
  bool peak = false;
  for (const auto& f : since["findings"]) {
    if (f.value("id", "") == "history-peak") {
      peak = true;
      EXPECT_GE(f["evidence"].value("peak_time_wait", 0.0), 300.0) << f.dump();
      EXPECT_NE(f.value("summary", "").find(pair.server_v4 + ":8080"), std::string::npos) << f.dump();
    }
  }
  EXPECT_TRUE(peak) << since["findings"].dump(2);
  const auto& history = since["facts"]["history"];
  EXPECT_GE(history.value("records", 0), 3) << history.dump();
  EXPECT_EQ(history.value("skipped_lines", -1), 0) << history.dump();

  // The text says it where an operator reads it.
  const RunResult text = pair.client.run({ m_advisor, "plan", "--since", "5m", "--state-dir", state() });
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("history-peak"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("at its peak at"), std::string::npos) << text.out;

  // Each line of the file is one whole record; the file holds nothing else.
  const auto file = read_file(fs::path(state()) / "monitor-history.jsonl", 1 << 24);
  ASSERT_TRUE(file);
  std::size_t lines = 0;
  for (const auto& line : split(*file, '\n')) {
    if (line.empty()) {
      continue;
    }
    ++lines;
    EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded()) << line;
  }
  EXPECT_GE(lines, 3u);
}

// plan --since where no monitor ran says so, and judges the live census.
TEST_F(MonitorLiveTest, PlanSinceWithoutAHistorySaysSo)
{
  Netns ns("mnohist");
  const nlohmann::json plan =
    advisor_json(ns, m_advisor, { "plan", "--since", "10m", "--state-dir", state() });
  bool said = false;
  for (const auto& f : plan["findings"]) {
    if (f.value("id", "") == "history-unavailable") {
      said = true;
      EXPECT_NE(f.value("summary", "").find(state()), std::string::npos) << f.dump();
    }
  }
  EXPECT_TRUE(said) << plan["findings"].dump(2);
  EXPECT_FALSE(plan["facts"]["history"].value("available", true));
}

// One monitor writes a state dir's history: a second one given the same --state-dir is refused
// at its start, naming the holder. A monitor by hand as a user, with the default state dir it
// cannot write, warns and runs without a history.
TEST_F(MonitorLiveTest, OneMonitorPerHistoryAndAUserRunsWithoutOne)
{
  Netns ns("mlock");
  BackgroundProcess first(ns.exec_argv({ m_advisor,
                                         "monitor",
                                         "--interval",
                                         "60",
                                         "--no-probe",
                                         "--textfile-dir",
                                         m_dir.string(),
                                         "--state-dir",
                                         state() }));
  for (int i = 0; i < 100 && textfile().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(textfile().empty()) << first.output();
  const fs::path other = m_dir / "other";
  fs::create_directories(other);
  const RunResult second = ns.run({ m_advisor,
                                    "monitor",
                                    "--count",
                                    "1",
                                    "--no-probe",
                                    "--textfile-dir",
                                    other.string(),
                                    "--state-dir",
                                    state() });
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(first.pid())), std::string::npos) << second.err;
  EXPECT_EQ(first.stop(), 0);

  // As nobody, with a textfile dir it may write and the default state dir it may not.
  const fs::path mine = m_dir / "nobody";
  fs::create_directories(mine);
  ASSERT_EQ(::chown(mine.c_str(), 65534, 65534), 0);
  const RunResult user = ns.run({ "setpriv",
                                  "--reuid=65534",
                                  "--regid=65534",
                                  "--clear-groups",
                                  "--inh-caps=-all",
                                  "--bounding-set=-all",
                                  m_advisor,
                                  "monitor",
                                  "--count",
                                  "1",
                                  "--no-probe",
                                  "--textfile-dir",
                                  mine.string() });
  EXPECT_EQ(user.exit_code, 0) << user.err;
  EXPECT_NE(user.err.find("no history"), std::string::npos) << user.err;
  EXPECT_TRUE(fs::exists(mine / "tw_advisor.prom"));
}

// With the probe, the monitor drains its maps every interval and keeps its own totals: two
// bursts of failing connects intervals apart add up in the textfile's counter.
TEST_F(MonitorLiveTest, TheProbesCountsAddUpAcrossIntervals)
{
  HostPair pair("mdrain");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40009"); // 10 ports
  BackgroundProcess server(server_argv(pair));
  ASSERT_TRUE(server.wait_for_output("ready", std::chrono::seconds(10))) << server.output();
  BackgroundProcess monitor(pair.client.exec_argv(
    { m_advisor, "monitor", "--interval", "1", "--textfile-dir", m_dir.string(), "--state-dir", state() }));
  const std::string ns = "netns=\"" + pair.client.name() + "\"";
  wait_for("tw_advisor_probe_attached{" + ns + "}", [](double v) { return v == 1.0; });
  ASSERT_EQ(sample(textfile(), "tw_advisor_probe_attached{" + ns + "}"), 1.0)
    << textfile() << monitor.output();
  const std::string failed =
    "tw_advisor_connect_eaddrnotavail_total{" + ns + ",destination=\"" + pair.server_v4 + ":8080\"}";
  std::uint64_t sum = 0;
  for (int round = 0; round < 2; ++round) {
    // 10 held connections take every port; the next ones fail with EADDRNOTAVAIL.
    sum += failing_client(pair, { "--hold", "10", "--hold-ms", "0" });
    const double want = static_cast<double>(sum);
    wait_for(failed, [want](double v) { return v >= want; });
    EXPECT_EQ(sample(textfile(), failed), want) << "round " << round << "\n" << textfile();
    // The next round after at least one more interval (a drain in between); TIME_WAIT freed.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ASSERT_EQ(pair.client.run({ "ss", "-K", "state", "time-wait" }).exit_code, 0);
  }
  EXPECT_GE(sum, 6u);
  EXPECT_EQ(sample(textfile(), "tw_advisor_probe_dropped_events_total{" + ns + "}"), 0.0) << textfile();
  EXPECT_EQ(monitor.stop(), 0);
  // The history recorded each failure once, whichever interval it fell in.
  EXPECT_EQ(recorded_failures(fs::path(state()) / "monitor-history.jsonl"), sum);
}

// monitor --all-netns, run in the host's namespace, watches every namespace in one textfile,
// each labelled with its name: a burst in one pair's client shows under that client's label,
// the probe's failures too, and its history goes to its own netns-INODE folder.
TEST_F(MonitorLiveTest, AllNetnsLabelsEveryNamespaceWithItsName)
{
  HostPair pair("mall");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40009"); // 10 ports
  BackgroundProcess server(server_argv(pair));
  ASSERT_TRUE(server.wait_for_output("ready", std::chrono::seconds(10))) << server.output();
  BackgroundProcess monitor({ m_advisor,
                              "monitor",
                              "--all-netns",
                              "--interval",
                              "1",
                              "--textfile-dir",
                              m_dir.string(),
                              "--state-dir",
                              state() });
  const std::string client = "netns=\"" + pair.client.name() + "\"";
  const std::string server_ns = "netns=\"" + pair.server.name() + "\"";
  const std::string outbound = "tw_advisor_time_wait_sockets{" + client + ",role=\"outbound\"}";
  const auto wait_long = [this](const std::string& series, auto done) {
    // Up to 60 s: an interval visits every namespace on the machine (other tests' too), and the
    // sanitizer build on 2 busy cores took over 15 s for the first one.
    for (int i = 0; i < 1200 && !done(sample(textfile(), series)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  wait_long(outbound, [](double v) { return v >= 0; });
  ASSERT_EQ(sample(textfile(), outbound), 0.0) << textfile() << monitor.output();
  // 10 connections closed by the client fill the range with TIME_WAIT; the last 3 fail.
  const std::uint64_t failed = failing_client(pair, { "--close-first" });
  EXPECT_GE(failed, 1u);
  const std::string eaddrnotavail =
    "tw_advisor_connect_eaddrnotavail_total{" + client + ",destination=\"" + pair.server_v4 + ":8080\"}";
  const auto want = static_cast<double>(failed);
  wait_long(eaddrnotavail, [want](double v) { return v >= want; });
  wait_long(outbound, [](double v) { return v >= 8.0; });
  const std::string text = textfile();
  EXPECT_EQ(monitor.stop(), 0);
  EXPECT_EQ(problems_of(text), "") << text;
  EXPECT_GE(sample(text, outbound), 8.0) << text; // a peer's RST may end a few early
  EXPECT_EQ(sample(text, eaddrnotavail), want) << text;
  EXPECT_EQ(sample(text, "tw_advisor_probe_attached{" + client + "}"), 1.0) << text;
  EXPECT_EQ(sample(text, "tw_advisor_probe_attached{" + server_ns + "}"), 1.0) << text;
  EXPECT_EQ(sample(text, "tw_advisor_probe_attached{netns=\"host\"}"), 1.0) << text;
  EXPECT_EQ(sample(text, "tw_advisor_local_port_range_ports{" + client + "}"), 10.0) << text;
  // The client's failures are not the server's, nor the host's.
  EXPECT_EQ(text.find("tw_advisor_connect_eaddrnotavail_total{" + server_ns), std::string::npos) << text;

  struct stat st
  {};
  ASSERT_EQ(::stat(pair.client.path().c_str(), &st), 0);
  const fs::path own = fs::path(state()) / ("netns-" + std::to_string(st.st_ino)) / "monitor-history.jsonl";
  EXPECT_EQ(recorded_failures(own, st.st_ino), failed) << "the client's own history folder";
  EXPECT_TRUE(fs::exists(fs::path(state()) / "monitor-history.jsonl")) << "the host's";
}

// A textfile directory that does not exist is an error before the first interval, naming it.
TEST_F(MonitorLiveTest, AMissingTextfileDirIsAnErrorNamingIt)
{
  Netns ns("mdir");
  const RunResult r = ns.run({ m_advisor,
                               "monitor",
                               "--count",
                               "1",
                               "--no-probe",
                               "--textfile-dir",
                               (m_dir / "nope").string(),
                               "--state-dir",
                               state() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((m_dir / "nope").string()), std::string::npos) << r.err;
}

// As root the probe stays attached: the textfile says so.
TEST_F(MonitorLiveTest, TheProbeStaysAttachedAsRoot)
{
  Netns ns("mprobe");
  const RunResult r = ns.run({ m_advisor,
                               "monitor",
                               "--interval",
                               "1",
                               "--count",
                               "1",
                               "--textfile-dir",
                               m_dir.string(),
                               "--state-dir",
                               state() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = textfile();
  EXPECT_EQ(problems_of(text), "") << text;
  EXPECT_EQ(sample(text, "tw_advisor_probe_attached{netns=\"" + ns.name() + "\"}"), 1.0) << text << r.err;
}

} // namespace
} // namespace tw::test
