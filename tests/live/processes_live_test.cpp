// Who churns and who leaks, on real sockets in network namespaces: the census names socket
// owners through /proc/PID/fd, and plan pins churn and CLOSE_WAIT leaks on the right process.
#include "support/netns.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>

namespace tw::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::vector<std::string> k_nobody = { "setpriv",        "--reuid=65534",   "--regid=65534",
                                            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all" };

class ProcessesLiveTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    TW_REQUIRE_NETNS();
    m_advisor = required_env("TW_ADVISOR_BIN");
    m_loadgen = required_env("TW_LOADGEN_BIN");
    m_root = fs::temp_directory_path() / ("twa-processes-live-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_root);
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_root, ec);
  }

  std::unique_ptr<BackgroundProcess> start(const Netns& ns,
                                           std::vector<std::string> argv,
                                           const std::string& marker)
  {
    argv.insert(argv.begin(), m_loadgen);
    auto p = std::make_unique<BackgroundProcess>(ns.exec_argv(argv));
    EXPECT_TRUE(p->wait_for_output(marker, std::chrono::seconds(20))) << join_argv(argv) << "\n"
                                                                      << p->output();
    return p;
  }

  json advisor_json(const Netns& ns, std::vector<std::string> args, std::vector<std::string> prefix = {})
  {
    return tw::test::advisor_json(ns, m_advisor, std::move(args), std::move(prefix));
  }

  json plan(const Netns& ns, std::vector<std::string> extra = {}, std::vector<std::string> prefix = {})
  {
    std::vector<std::string> args = { "plan", "--root", m_root.string() };
    args.insert(args.end(), extra.begin(), extra.end());
    return advisor_json(ns, std::move(args), std::move(prefix));
  }

  static const json* find_id(const json& list, const std::string& id)
  {
    for (const auto& x : list) {
      if (x.at("id") == id) {
        return &x;
      }
    }
    return nullptr;
  }

  static const json* process(const json& census, int pid)
  {
    for (const auto& p : census.at("processes")) {
      if (p.at("pid") == pid) {
        return &p;
      }
    }
    return nullptr;
  }

  std::string m_advisor;
  std::string m_loadgen;
  fs::path m_root;
};

// A server that never closes what it accepted, and a client that closes first: the server's
// sockets sit in CLOSE_WAIT, and plan names the server.
TEST_F(ProcessesLiveTest, CloseWaitLeakNamesTheServerThatNeverCloses)
{
  HostPair pair("pcw");
  auto server =
    start(pair.server,
          { "server", "--bind", pair.server_v4, "--port", "8080", "--never-close", "--timeout-ms", "120000" },
          "ready");
  const RunResult client = pair.client.run({ m_loadgen,
                                             "client",
                                             "--connect",
                                             pair.server_v4,
                                             "--port",
                                             "8080",
                                             "--count",
                                             "24",
                                             "--close-first",
                                             "--json" });
  ASSERT_EQ(client.exit_code, 0) << client.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the last FINs land

  const json p = plan(pair.server);
  const json& census = p.at("sockets");
  EXPECT_EQ(census.at("states").at("close-wait"), 24) << census.at("states").dump();
  EXPECT_TRUE(census.at("attribution").at("walked")) << census.at("attribution").dump();
  // As root the kernel's task_file iterator reads every fd table in one pass.
  EXPECT_EQ(census.at("attribution").at("reader"), "bpf-iter") << census.at("attribution").dump();
  const json* owner = process(census, server->pid());
  ASSERT_NE(owner, nullptr) << census.at("processes").dump();
  EXPECT_EQ(owner->at("comm"), "tw-loadgen");
  EXPECT_EQ(owner->at("connections").at("close_wait"), 24);
  EXPECT_NE(owner->at("cmdline").get<std::string>().find("--never-close"), std::string::npos);
  ASSERT_FALSE(owner->at("destinations").empty());
  EXPECT_EQ(owner->at("destinations")[0].at("destination"), pair.server_v4 + ":8080");
  EXPECT_EQ(owner->at("destinations")[0].at("role"), "inbound");

  const json* leak = find_id(p.at("findings"), "close-wait-leak");
  ASSERT_NE(leak, nullptr) << p.at("findings").dump();
  EXPECT_EQ(leak->at("evidence").at("top_pid"), server->pid());
  EXPECT_NE(
    leak->at("summary").get<std::string>().find("pid " + std::to_string(server->pid()) + " (tw-loadgen)"),
    std::string::npos)
    << leak->at("summary");

  // The /proc walk (the iterator's fallback) finds the same owners with the same counts.
  const json walked = plan(pair.server, {}, { "env", "TW_ADVISOR_OWNER_READER=proc-walk" });
  const json& by_walk = walked.at("sockets");
  EXPECT_EQ(by_walk.at("attribution").at("reader"), "proc-walk") << by_walk.at("attribution").dump();
  EXPECT_EQ(by_walk.at("attribution").at("sockets_found"), census.at("attribution").at("sockets_found"));
  const json* walked_owner = process(by_walk, server->pid());
  ASSERT_NE(walked_owner, nullptr) << by_walk.at("processes").dump();
  EXPECT_EQ(walked_owner->at("connections"), owner->at("connections"));
  EXPECT_EQ(walked_owner->at("destinations"), owner->at("destinations"));

  // Without root the walk cannot read root's fd tables: the finding still counts the sockets and
  // says why no owner is named; the run does not fail.
  const json unprivileged = plan(pair.server, {}, k_nobody);
  const json& a = unprivileged.at("sockets").at("attribution");
  EXPECT_GT(a.at("processes_unreadable").get<std::uint64_t>(), 0U) << a.dump();
  EXPECT_EQ(a.at("reader"), "proc-walk") << a.dump(); // no BPF without privileges, and it says so
  EXPECT_NE(a.at("reader_note").get<std::string>().find("needs root"), std::string::npos) << a.dump();
  EXPECT_EQ(process(unprivileged.at("sockets"), server->pid()), nullptr);
  const json* partial = find_id(unprivileged.at("findings"), "close-wait-leak");
  ASSERT_NE(partial, nullptr) << unprivileged.at("findings").dump();
  EXPECT_NE(partial->at("summary").get<std::string>().find("were unreadable (run as root"), std::string::npos)
    << partial->at("summary");

  // census says the same in text, with the row of the server.
  const RunResult text = pair.server.run({ m_advisor, "census" });
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(std::to_string(server->pid()) + " tw-loadgen"), std::string::npos) << text.out;
}

// Two clients in one namespace: one churns short connections to :8080, one holds a pool of 20
// long connections to :9090. The probe counts connect() per process: plan pins the churn on the
// churning one, and not on the pool.
TEST_F(ProcessesLiveTest, ChurnIsPinnedOnTheChurningClientNotOnThePool)
{
  HostPair pair("pchurn");
  auto churn_server = start(
    pair.server, { "server", "--bind", pair.server_v4, "--port", "8080", "--timeout-ms", "120000" }, "ready");
  auto pool_server = start(
    pair.server, { "server", "--bind", pair.server_v4, "--port", "9090", "--timeout-ms", "120000" }, "ready");
  auto pool = start(pair.client,
                    { "client",
                      "--connect",
                      pair.server_v4,
                      "--port",
                      "9090",
                      "--count",
                      "20",
                      "--hold",
                      "20",
                      "--hold-ms",
                      "120000" },
                    "holding");
  auto churner = std::make_unique<BackgroundProcess>(pair.client.exec_argv({ m_loadgen,
                                                                             "client",
                                                                             "--connect",
                                                                             pair.server_v4,
                                                                             "--port",
                                                                             "8080",
                                                                             "--count",
                                                                             "100000",
                                                                             "--close-first",
                                                                             "--interval-ms",
                                                                             "2",
                                                                             "--timeout-ms",
                                                                             "60000" }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const json p = plan(pair.client, { "--sample", "3" });
  ASSERT_EQ(p.at("evidence").at("source"), "probe") << p.at("evidence").dump();
  const json* churn = find_id(p.at("findings"), "connection-churn");
  ASSERT_NE(churn, nullptr) << p.at("findings").dump();
  EXPECT_EQ(churn->at("evidence").at("top_pid"), churner->pid()) << churn->dump();
  const std::string summary = churn->at("summary").get<std::string>();
  EXPECT_NE(summary.find("pid " + std::to_string(churner->pid()) + " (tw-loadgen)"), std::string::npos)
    << summary;
  EXPECT_NE(summary.find("to " + pair.server_v4 + ":8080"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("pid " + std::to_string(pool->pid())), std::string::npos) << summary;

  const json* reuse = find_id(p.at("advice"), "connection-reuse");
  ASSERT_NE(reuse, nullptr) << p.at("advice").dump();
  const std::string text = reuse->at("text").get<std::string>();
  EXPECT_NE(text.find("pid " + std::to_string(churner->pid())), std::string::npos) << text;
  EXPECT_EQ(text.find("pid " + std::to_string(pool->pid())), std::string::npos) << text;

  // The census names the pool as the holder of its 20 connections all the same.
  const json* holder = process(p.at("sockets"), pool->pid());
  ASSERT_NE(holder, nullptr) << p.at("sockets").at("processes").dump();
  EXPECT_EQ(holder->at("connections").at("established"), 20);

  // Neither grows through the window: the pool is flat, the churner's connections end.
  const json& trend = p.at("facts").at("established_trend");
  EXPECT_TRUE(trend.at("measured")) << trend.dump();
  EXPECT_EQ(find_id(p.at("findings"), "established-growing"), nullptr) << trend.dump();
}

// A client that opens and never closes through the whole window: Tcp.CurrEstab rises with the
// connections made, the ESTABLISHED count towards the server only rises, and plan reports the
// imbalance and the growth, naming the holder.
TEST_F(ProcessesLiveTest, ConnectionsOpenedAndNeverClosedAreAnImbalance)
{
  HostPair pair("pimb");
  auto server = start(
    pair.server, { "server", "--bind", pair.server_v4, "--port", "8080", "--timeout-ms", "120000" }, "ready");
  auto leaker = std::make_unique<BackgroundProcess>(pair.client.exec_argv({ m_loadgen,
                                                                            "client",
                                                                            "--connect",
                                                                            pair.server_v4,
                                                                            "--port",
                                                                            "8080",
                                                                            "--count",
                                                                            "400",
                                                                            "--hold",
                                                                            "400",
                                                                            "--interval-ms",
                                                                            "10",
                                                                            "--hold-ms",
                                                                            "60000",
                                                                            "--timeout-ms",
                                                                            "60000" }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const json p = plan(pair.client, { "--sample", "2", "--no-probe" });
  const json* x = find_id(p.at("findings"), "open-close-imbalance");
  ASSERT_NE(x, nullptr) << p.at("findings").dump();
  EXPECT_GT(x->at("evidence").at("still_open").get<double>(), 50.0) << x->dump();
  EXPECT_EQ(x->at("evidence").at("top_pid"), leaker->pid()) << x->dump();

  // Counted through the window, ESTABLISHED towards the server only rose: established-growing,
  // with the slope, naming the leaker.
  const json* growing = find_id(p.at("findings"), "established-growing");
  ASSERT_NE(growing, nullptr) << p.at("findings").dump() << p.at("facts").at("established_trend").dump();
  EXPECT_GT(growing->at("evidence").at("slope_per_second").get<double>(), 10.0) << growing->dump();
  EXPECT_GT(growing->at("evidence").at("last").get<double>(),
            growing->at("evidence").at("first").get<double>());
  EXPECT_EQ(growing->at("evidence").at("top_pid"), leaker->pid()) << growing->dump();
  EXPECT_NE(growing->at("summary").get<std::string>().find("towards " + pair.server_v4 + ":8080"),
            std::string::npos)
    << growing->at("summary");
  const json& trend = p.at("facts").at("established_trend");
  EXPECT_EQ(trend.at("at_seconds").size(), 5U) << trend.dump(); // 0, 0.5, 1, 1.5, 2 s
}

// Processes that start and exit while the owners are read (fd tables that vanish under the walk
// or the iterator): no run fails, every run names what it found, by either reader.
TEST_F(ProcessesLiveTest, ProcessesExitingDuringTheReadDoNotFailTheRun)
{
  HostPair pair("pexit");
  auto server = start(
    pair.server, { "server", "--bind", pair.server_v4, "--port", "8080", "--timeout-ms", "120000" }, "ready");
  // One client holds 3 connections for the whole test: every run must name it, however many of the
  // others exit while the run reads them.
  auto holder = start(pair.client,
                      { "client",
                        "--connect",
                        pair.server_v4,
                        "--port",
                        "8080",
                        "--count",
                        "3",
                        "--hold",
                        "3",
                        "--hold-ms",
                        "120000" },
                      "holding");
  // Around it, eight short-lived clients at a time, each holding 5 connections for 300 ms, for as long
  // as the test runs (the process group goes with the BackgroundProcess): processes and sockets vanish
  // between the socket dump and the walk of the fd tables.
  const std::string client = m_loadgen + " client --connect " + pair.server_v4 +
                             " --port 8080 --count 5 --hold 5 --hold-ms 300 --timeout-ms 5000";
  auto spawner = std::make_unique<BackgroundProcess>(pair.client.exec_argv(
    { "sh",
      "-c",
      "while :; do for i in 1 2 3 4 5 6 7 8; do " + client + " >/dev/null 2>&1 & done; wait; done" }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int runs_with_churners = 0; // runs whose dump held more than the holder's 3 connections
  for (const char* reader : { "bpf-iter", "proc-walk" }) {
    for (int i = 0; i < 8; ++i) {
      std::vector<std::string> prefix;
      if (std::string_view(reader) == "proc-walk") {
        prefix = { "env", "TW_ADVISOR_OWNER_READER=proc-walk" };
      }
      const json c = advisor_json(pair.client, { "census" }, prefix);
      ASSERT_TRUE(c.contains("attribution")) << c.dump();
      const json& a = c.at("attribution");
      ASSERT_TRUE(a.at("walked").get<bool>()) << a.dump();
      EXPECT_EQ(a.at("reader"), reader) << a.dump();
      EXPECT_LE(a.at("sockets_found").get<std::uint64_t>(), a.at("sockets_wanted").get<std::uint64_t>());
      for (const auto& p : c.at("processes")) {
        EXPECT_GT(p.at("connections").at("established").get<std::uint64_t>() +
                    p.at("connections").at("syn_sent").get<std::uint64_t>() +
                    p.at("connections").at("close_wait").get<std::uint64_t>(),
                  0U)
          << p.dump();
      }
      const json* held = process(c, holder->pid());
      ASSERT_NE(held, nullptr) << reader << " run " << i << " lost the holder: " << c.at("processes").dump();
      EXPECT_EQ(held->at("connections").at("established"), 3) << held->dump();
      runs_with_churners += a.at("sockets_wanted").get<std::uint64_t>() > 3 ? 1 : 0;
    }
  }
  // The churn was there to be read: some run's socket dump held the short-lived clients' sockets too.
  EXPECT_GT(runs_with_churners, 0) << "no run saw a short-lived client's connections";
}

} // namespace
} // namespace tw::test
