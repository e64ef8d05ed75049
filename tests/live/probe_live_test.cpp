// The BPF evidence probe against a real kernel: real connect() and bind() calls made by
// tw-loadgen in network namespaces, counted by the probe loaded in this process (exact counts)
// or by the real binary's `plan --sample` (verdicts). Needs root, as every live test.
#include "facts/bpf/probe_abi.h"
#include "facts/probe.hpp"
#include "support/netns.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace tw::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* k_port = "8080";

// One blocking TCP connect() from the calling thread's namespace to addr:port: 0 or its errno.
int connect_once(const std::string& addr, int port)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return errno;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

class ProbeLiveTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    TW_REQUIRE_NETNS();
    m_advisor = required_env("TW_ADVISOR_BIN");
    m_loadgen = required_env("TW_LOADGEN_BIN");
    m_root = fs::temp_directory_path() / ("twa-probe-live-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_root);
    fs::permissions(m_root, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_root, ec);
  }

  // A server in ns on addr:8080 that waits for the client's FIN (TIME_WAIT lands on the client).
  std::unique_ptr<BackgroundProcess> start_server(const Netns& ns, const std::string& addr)
  {
    auto server = std::make_unique<BackgroundProcess>(
      ns.exec_argv({ m_loadgen, "server", "--bind", addr, "--port", k_port, "--timeout-ms", "170000" }));
    EXPECT_TRUE(server->wait_for_output("ready", std::chrono::seconds(10))) << server->output();
    return server;
  }

  std::vector<std::string> client_argv(const std::string& addr, int count, std::vector<std::string> extra)
  {
    std::vector<std::string> argv = { m_loadgen, "client",       "--connect", addr,
                                      "--port",  k_port,         "--count",   std::to_string(count),
                                      "--json",  "--timeout-ms", "60000" };
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Runs the loadgen client in ns to the end; returns its JSON result line.
  json run_client(const Netns& ns, const std::string& addr, int count, std::vector<std::string> extra = {})
  {
    const RunResult r = ns.run(client_argv(addr, count, std::move(extra)), {}, std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto lines = split(trim(r.out), '\n');
    return json::parse(std::string(lines.front()));
  }

  // `tw-advisor ARGS --format json` inside ns, as argv_prefix (e.g. setpriv ...) when given.
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

  // pair's client with 50 source ports and tcp_tw_reuse 0, every port towards the server's 8080
  // in TIME_WAIT for the next 60 s: the same picture in sock_diag whatever connects next. Returns
  // the server, to keep for the test.
  std::unique_ptr<BackgroundProcess> fill_source_ports(const HostPair& pair)
  {
    pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40049"); // 50 ports
    pair.client.set_sysctl("net.ipv4.tcp_tw_reuse", "0");
    auto server = start_server(pair.server, pair.server_v4);
    EXPECT_EQ(run_client(pair.client, pair.server_v4, 50, { "--close-first" }).at("ok"), 50);
    return server;
  }

  // The entry of ns in a node document (plan/census --all-netns), or nullptr.
  static const json* node_entry(const json& node, const Netns& ns)
  {
    struct stat st
    {};
    EXPECT_EQ(::stat(ns.path().c_str(), &st), 0) << ns.path();
    for (const auto& e : node.at("namespaces")) {
      if (e.at("netns").at("inode").get<std::uint64_t>() == st.st_ino) {
        return &e;
      }
    }
    return nullptr;
  }

  // The netns cookie of ns: what the probe filters on.
  static std::uint64_t cookie_of(const Netns& ns)
  {
    const EnterNetns in(ns);
    return current_netns_cookie();
  }

  static bool has_id(const json& list, const std::string& id)
  {
    for (const auto& x : list) {
      if (x.value("id", "") == id) {
        return true;
      }
    }
    return false;
  }

  static std::string reasons(const json& p)
  {
    std::string s;
    for (const auto& r : p.value("reasons", json::array())) {
      s += r.get<std::string>() + "\n";
    }
    return s;
  }

  std::string m_advisor;
  std::string m_loadgen;
  fs::path m_root;
};

// The probe loaded in this process with each set of hooks (facts/bpf/tw_probe.bpf.c): the same
// traffic gives the same counts. Asked for explicitly, a set that cannot attach does not fall
// back to the other: attached() is false and the test fails.
class ProbeHooksLiveTest
  : public ProbeLiveTest
  , public ::testing::WithParamInterface<ProbeHooks>
{
protected:
  // The probe for the namespace with this cookie, with the hooks under test, attached.
  std::unique_ptr<EvidenceProbe> attach(std::uint64_t cookie)
  {
    ProbeOptions options;
    options.netns_cookie = cookie;
    options.hooks = GetParam();
    auto probe = std::make_unique<EvidenceProbe>(options);
    EXPECT_TRUE(probe->attached()) << probe->reason();
    EXPECT_EQ(probe->hooks(), GetParam()) << probe->reason();
    return probe;
  }
};

std::string hooks_name(const ::testing::TestParamInfo<ProbeHooks>& info)
{
  return info.param == ProbeHooks::socket ? "SocketHooks" : "SystemCallHook";
}

TEST_P(ProbeHooksLiveTest, FailedConnectsAreCountedExactlyPerDestinationFamilyAndProcess)
{
  HostPair pair("prcount");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40019"); // 20 ports
  auto server = start_server(pair.server, "::");                         // IPv4 and IPv6
  const auto probe_ptr = attach(cookie_of(pair.client));
  ASSERT_TRUE(probe_ptr->attached());
  const EvidenceProbe& probe = *probe_ptr;

  // 20 connections held open take every port; the next 7 fail with EADDRNOTAVAIL.
  const json v4 = run_client(pair.client, pair.server_v4, 27, { "--hold", "20", "--hold-ms", "0" });
  ASSERT_EQ(v4.at("ok"), 20) << v4.dump();
  ASSERT_EQ(v4.at("eaddrnotavail"), 7) << v4.dump();
  const json v6 = run_client(pair.client, pair.server_v6, 3, { "--close-first" });
  ASSERT_EQ(v6.at("ok"), 3) << v6.dump();

  const SymptomEvidence e = probe.collect(1.0);
  EXPECT_EQ(e.source, EvidenceSource::probe);
  EXPECT_EQ(e.dropped, 0u);
  const SymptomDestination* d4 = e.destination(pair.server_v4 + ":8080");
  ASSERT_NE(d4, nullptr) << "destinations: " << e.destinations.size();
  EXPECT_EQ(d4->family, "ipv4");
  EXPECT_EQ(d4->connect_ok, 20u);
  EXPECT_EQ(d4->connect_eaddrnotavail, 7u);
  EXPECT_TRUE(d4->connect_errors.empty());
  EXPECT_EQ(d4->handshakes_ok, 20u);
  EXPECT_EQ(d4->handshakes_failed, 0u);
  ASSERT_TRUE(d4->connect_us_p50.has_value());
  ASSERT_TRUE(d4->connect_us_p99.has_value());
  EXPECT_LE(*d4->connect_us_p50, *d4->connect_us_p99);
  EXPECT_LT(*d4->connect_us_p99, 1e6) << "a loopback-speed connect() measured over a second";
  ASSERT_EQ(d4->processes.size(), 1u);
  EXPECT_EQ(d4->processes[0].comm, "tw-loadgen");
  EXPECT_GT(d4->processes[0].pid, 0u);
  EXPECT_EQ(d4->processes[0].connects, 27u);
  EXPECT_EQ(d4->processes[0].eaddrnotavail, 7u);
  EXPECT_NE(d4->processes[0].cgroup_id, 0u);

  const SymptomDestination* d6 = e.destination("[" + pair.server_v6 + "]:8080");
  ASSERT_NE(d6, nullptr);
  EXPECT_EQ(d6->family, "ipv6");
  EXPECT_EQ(d6->connect_ok, 3u);
  EXPECT_EQ(d6->connect_eaddrnotavail, 0u);
  EXPECT_EQ(e.total_eaddrnotavail(), 7u);
  EXPECT_TRUE(e.bind_eaddrinuse.empty());
}

// drain() takes the rows out of the maps: the next one counts only what came after it, and
// collect() no longer sees them.
TEST_P(ProbeHooksLiveTest, DrainCountsOnlyWhatCameAfterTheLastDrain)
{
  HostPair pair("prdrain");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40009"); // 10 ports
  auto server = start_server(pair.server, pair.server_v4);
  const std::uint64_t cookie = cookie_of(pair.client);
  const auto probe_ptr = attach(cookie);
  ASSERT_TRUE(probe_ptr->attached());
  EvidenceProbe& probe = *probe_ptr;
  EXPECT_EQ(probe.netns_cookie(), cookie);
  const std::string where = pair.server_v4 + ":8080";

  const json first_run = run_client(pair.client, pair.server_v4, 13, { "--hold", "10", "--hold-ms", "0" });
  ASSERT_EQ(first_run.at("eaddrnotavail"), 3) << first_run.dump();
  const ProbeDrain first = probe.drain(1.0);
  ASSERT_EQ(first.namespaces.size(), 1u);
  ASSERT_EQ(first.namespaces.count(cookie), 1u);
  const SymptomDestination* d = first.namespaces.at(cookie).destination(where);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->connect_ok, 10u);
  EXPECT_EQ(d->connect_eaddrnotavail, 3u);
  EXPECT_EQ(d->handshakes_ok, 10u);
  ASSERT_EQ(d->processes.size(), 1u);
  EXPECT_EQ(d->processes[0].connects, 13u);
  EXPECT_EQ(probe.collect(1.0).destination(where), nullptr) << "the drained rows are gone";
  EXPECT_TRUE(probe.drain(1.0).namespaces.empty()) << "nothing came after the drain";

  // The 10 ports are in TIME_WAIT now (the client closed first): new connects fail, or take one over.
  const json second_run = run_client(pair.client, pair.server_v4, 4, { "--close-first" });
  const ProbeDrain second = probe.drain(1.0);
  ASSERT_EQ(second.namespaces.count(cookie), 1u);
  d = second.namespaces.at(cookie).destination(where);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->connect_ok, second_run.at("ok").get<std::uint64_t>()) << second_run.dump();
  EXPECT_EQ(d->connect_eaddrnotavail, second_run.at("eaddrnotavail").get<std::uint64_t>())
    << second_run.dump();
  EXPECT_EQ(d->connect_ok + d->connect_eaddrnotavail, 4u);
  EXPECT_EQ(second.totals.dropped, 0u);
}

// The maps hold one interval when drained: 10 intervals of 1,000 destinations each (20,000
// connect and handshake rows in all, 10,000 connect-time histograms) are all counted with nothing
// dropped, while a probe beside it that is only read (collect) fills and drops.
TEST_P(ProbeHooksLiveTest, DrainedMapsHoldMoreThanTheirCapacityOverIntervals)
{
  HostPair pair("prcap");
  const std::uint64_t cookie = cookie_of(pair.client);
  const auto drained_ptr = attach(cookie);
  const auto collected_ptr = attach(cookie);
  ASSERT_TRUE(drained_ptr->attached());
  ASSERT_TRUE(collected_ptr->attached());
  EvidenceProbe& drained = *drained_ptr;
  const EvidenceProbe& collected = *collected_ptr;
  constexpr int k_rounds = 10;
  // Each port: a connect row and a handshake row (one row with the socket hooks) and a histogram.
  constexpr int k_ports = 1000;
  static_assert(k_rounds * k_ports > TW_PROBE_MAX_LATENCY, "more histograms than the map holds");
  static_assert(k_ports < TW_PROBE_MAX_LATENCY, "one interval's histograms fit");
  std::uint64_t refused = 0;
  std::uint64_t destinations = 0;
  for (int round = 0; round < k_rounds; ++round) {
    {
      const EnterNetns in(pair.client);
      for (int i = 0; i < k_ports; ++i) {
        // No listener on these ports: the server's kernel answers the SYN with a RST.
        const int port = 20000 + round * k_ports + i;
        ASSERT_EQ(connect_once(pair.server_v4, port), ECONNREFUSED) << "port " << port;
      }
    }
    const ProbeDrain d = drained.drain(1.0);
    ASSERT_EQ(d.namespaces.count(cookie), 1u) << "round " << round;
    const SymptomEvidence& e = d.namespaces.at(cookie);
    for (const auto& dest : e.destinations) {
      ++destinations;
      const auto it = dest.connect_errors.find("ECONNREFUSED");
      refused += it == dest.connect_errors.end() ? 0 : it->second;
      EXPECT_EQ(dest.handshakes_failed, 1u) << dest.destination;
      EXPECT_TRUE(dest.connect_us_p50.has_value()) << dest.destination;
    }
    EXPECT_EQ(e.dropped, 0u) << "round " << round;
  }
  EXPECT_EQ(destinations, static_cast<std::uint64_t>(k_rounds * k_ports));
  EXPECT_EQ(refused, static_cast<std::uint64_t>(k_rounds * k_ports));
  EXPECT_GT(collected.collect(1.0).dropped, 0u) << "the maps of a probe never drained fill";
}

// The connect() time is the port search, not the handshake: a server whose SYNs are dropped
// never answers, and each non-blocking connect() is given up after 300 ms (its socket closed in
// SYN_SENT, before the SYN's first retransmission at 1 s). The socket hooks stop the clock when
// the SYN is stamped, the system-call hook when connect() returns EINPROGRESS; were the handshake
// in it, each would read 300 ms.
TEST_P(ProbeHooksLiveTest, ConnectTimeIsThePortSearchNotTheHandshake)
{
  HostPair pair("prsyn");
  pair.server.run_ok({ "nft", "add", "table", "inet", "twsyn" });
  pair.server.run_ok(
    { "nft", "add", "chain", "inet", "twsyn", "in", "{ type filter hook input priority 0 ; }" });
  pair.server.run_ok({ "nft", "add", "rule", "inet", "twsyn", "in", "tcp", "dport", "9", "drop" });
  const auto probe_ptr = attach(cookie_of(pair.client));
  ASSERT_TRUE(probe_ptr->attached());
  constexpr int k_connects = 3;
  {
    const EnterNetns in(pair.client);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(9);
    ASSERT_EQ(::inet_pton(AF_INET, pair.server_v4.c_str(), &sa.sin_addr), 1);
    for (int i = 0; i < k_connects; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ASSERT_GE(fd, 0) << std::strerror(errno);
      ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), -1);
      ASSERT_EQ(errno, EINPROGRESS) << std::strerror(errno);
      pollfd p{ fd, POLLOUT, 0 };
      EXPECT_EQ(::poll(&p, 1, 300), 0) << "the dropped SYN was answered";
      ::close(fd);
    }
  }
  const SymptomEvidence e = probe_ptr->collect(1.0);
  const SymptomDestination* d = e.destination(pair.server_v4 + ":9");
  ASSERT_NE(d, nullptr) << "destinations: " << e.destinations.size();
  EXPECT_EQ(d->handshakes_failed, static_cast<std::uint64_t>(k_connects));
  EXPECT_EQ(d->connect_eaddrnotavail, 0u);
  ASSERT_EQ(d->processes.size(), 1u);
  EXPECT_EQ(d->processes[0].connects, static_cast<std::uint64_t>(k_connects));
  ASSERT_TRUE(d->connect_us_p99.has_value());
  EXPECT_LT(*d->connect_us_p99, 100000.0) << "the 300 ms handshake is in the connect() time";
}

// What is timed: an established connect and a refused one (answered by a reset) are; a connect
// whose SYN had to be sent again is not, for the socket hooks (tcp_wstamp_ns then stamps the
// retransmission, not the first SYN). The system-call hook times the non-blocking connect()
// call itself, which returns at once in all three cases.
TEST_P(ProbeHooksLiveTest, ConnectsAreTimedUnlessTheirSynWasSentAgain)
{
  HostPair pair("prtimed");
  auto server = start_server(pair.server, pair.server_v4);
  BackgroundProcess late(pair.server.exec_argv(
    { m_loadgen, "server", "--bind", pair.server_v4, "--port", "9", "--timeout-ms", "170000" }));
  ASSERT_TRUE(late.wait_for_output("ready", std::chrono::seconds(10))) << late.output();
  pair.server.run_ok({ "nft", "add", "table", "inet", "twtimed" });
  pair.server.run_ok(
    { "nft", "add", "chain", "inet", "twtimed", "in", "{ type filter hook input priority 0 ; }" });
  pair.server.run_ok({ "nft", "add", "rule", "inet", "twtimed", "in", "tcp", "dport", "9", "drop" });
  const auto probe_ptr = attach(cookie_of(pair.client));
  ASSERT_TRUE(probe_ptr->attached());

  EXPECT_EQ(run_client(pair.client, pair.server_v4, 5, { "--close-first" }).at("ok"), 5);
  // A non-blocking connect to port on the server, given until deadline to end; its SO_ERROR.
  const auto connect_to =
    [&pair](std::uint16_t port, int deadline_ms, const std::function<void()>& meanwhile) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      EXPECT_EQ(::inet_pton(AF_INET, pair.server_v4.c_str(), &sa.sin_addr), 1);
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      EXPECT_GE(fd, 0) << std::strerror(errno);
      EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), -1);
      EXPECT_EQ(errno, EINPROGRESS) << std::strerror(errno);
      meanwhile();
      pollfd p{ fd, POLLOUT, 0 };
      EXPECT_EQ(::poll(&p, 1, deadline_ms), 1) << "port " << port << ": the handshake did not end";
      int error = -1;
      socklen_t len = sizeof error;
      EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len), 0);
      ::close(fd);
      return error;
    };
  {
    const EnterNetns in(pair.client);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(connect_to(7, 2000, [] {}), ECONNREFUSED); // nobody listens on 7: a reset
    }
    // The first SYN to 9 is dropped and sent again after 1 s; the rule goes after that, and the
    // next one (3 s after the first) is answered.
    EXPECT_EQ(connect_to(9,
                         5000,
                         [&pair] {
                           std::this_thread::sleep_for(std::chrono::milliseconds(1300));
                           pair.server.run_ok({ "nft", "delete", "table", "inet", "twtimed" });
                         }),
              0);
  }
  const SymptomEvidence e = probe_ptr->collect(5.0);
  const SymptomDestination* established = e.destination(pair.server_v4 + ":8080");
  ASSERT_NE(established, nullptr);
  EXPECT_EQ(established->handshakes_ok, 5u);
  EXPECT_TRUE(established->connect_us_p99.has_value()) << "an established connect is timed";
  const SymptomDestination* refused = e.destination(pair.server_v4 + ":7");
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->handshakes_failed, 3u);
  EXPECT_TRUE(refused->connect_us_p99.has_value()) << "a refused connect is timed";
  const SymptomDestination* again = e.destination(pair.server_v4 + ":9");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->handshakes_ok, 1u);
  if (GetParam() == ProbeHooks::socket) {
    EXPECT_FALSE(again->connect_us_p99.has_value())
      << "a connect whose SYN was sent again is timed: " << *again->connect_us_p99 << " us";
  } else {
    ASSERT_TRUE(again->connect_us_p99.has_value());
    EXPECT_LT(*again->connect_us_p99, 100000.0) << "the non-blocking call returns at once";
  }
}

TEST_P(ProbeHooksLiveTest, TrafficInAnotherNamespaceIsNotCounted)
{
  HostPair mine("prmine");
  HostPair other("prother");
  auto server_mine = start_server(mine.server, mine.server_v4);
  auto server_other = start_server(other.server, other.server_v4);
  const auto probe_ptr = attach(cookie_of(mine.client));
  ASSERT_TRUE(probe_ptr->attached());
  const EvidenceProbe& probe = *probe_ptr;

  EXPECT_EQ(run_client(other.client, other.server_v4, 25, { "--close-first" }).at("ok"), 25);
  EXPECT_EQ(run_client(mine.client, mine.server_v4, 4, { "--close-first" }).at("ok"), 4);

  const SymptomEvidence e = probe.collect(1.0);
  const SymptomDestination* d = e.destination(mine.server_v4 + ":8080");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->connect_ok, 4u);
  EXPECT_EQ(e.destination(other.server_v4 + ":8080"), nullptr);
  ASSERT_EQ(e.destinations.size(), 1u) << e.destinations[1].destination;
}

TEST_P(ProbeHooksLiveTest, RecycledConnectsMatchTheTwRecycledCounter)
{
  HostPair pair("prrecyc");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40049"); // 50 ports
  pair.client.set_sysctl("net.ipv4.tcp_tw_reuse", "1");
  auto server = start_server(pair.server, pair.server_v4);
  const auto probe_ptr = attach(cookie_of(pair.client));
  ASSERT_TRUE(probe_ptr->attached());
  const EvidenceProbe& probe = *probe_ptr;
  const std::uint64_t before = pair.client.counter("TcpExtTWRecycled");
  const std::uint64_t rsts_before = pair.server.counter("TcpOutRsts") + pair.client.counter("TcpOutRsts");

  // Every port enters TIME_WAIT while the probe watches; after the reuse delay (1 s) the next
  // connects can only succeed by taking a TIME_WAIT tuple over.
  EXPECT_EQ(run_client(pair.client, pair.server_v4, 50, { "--close-first" }).at("ok"), 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const json again = run_client(pair.client, pair.server_v4, 30, { "--close-first" });
  EXPECT_EQ(again.at("ok"), 30) << again.dump();
  const std::uint64_t recycled = pair.client.counter("TcpExtTWRecycled") - before;
  // A reset ends a TIME_WAIT early (tcp_rfc1337=0) and frees its port: the next connect on that
  // tuple is no takeover for the kernel, but the probe, which sees tuples and not the TIME_WAIT
  // sockets themselves, counts it (seen once in CI: 30 against 29). Allow one per reset.
  const std::uint64_t rsts =
    pair.server.counter("TcpOutRsts") + pair.client.counter("TcpOutRsts") - rsts_before;

  const SymptomEvidence e = probe.collect(2.0);
  const SymptomDestination* d = e.destination(pair.server_v4 + ":8080");
  ASSERT_NE(d, nullptr);
  EXPECT_GE(recycled + rsts, 30u); // each of the 30 connects took a TIME_WAIT port over
  // A state change the kernel did not hand to the probe (its program was already running on
  // that CPU, interrupted by a softirq) is counted as missed, never silently lost (seen once in
  // CI under load: 68 of 80 TIME_WAIT entries and 29 of 30 recycles seen).
  const std::uint64_t missed = e.missed;
  EXPECT_GE(d->recycled + missed, recycled) << "missed: " << missed;
  EXPECT_LE(d->recycled, recycled + rsts) << "resets: " << rsts;
  EXPECT_EQ(d->recycled_failed, 0u);
  EXPECT_LE(d->handshakes_ok, 80u);
  EXPECT_GE(d->handshakes_ok + missed, 80u) << "missed: " << missed;
  EXPECT_LE(e.time_wait_seen, 80u);
  EXPECT_GE(e.time_wait_seen + missed, 80u) << "missed: " << missed;
  EXPECT_FALSE(e.time_wait_capped);
}

// A client that binds fixed ports (SO_REUSEADDR) whose tuples are still in TIME_WAIT, without
// timestamps: connect() fails with EADDRNOTAVAIL after SYN_SENT, before any SYN. That is a
// failed connect(), not a handshake, and not a recycled connect that failed.
TEST_P(ProbeHooksLiveTest, AConnectThatFailsBeforeItsSynIsNotAFailedRecycle)
{
  HostPair pair("prfixed");
  pair.client.set_sysctl("net.ipv4.tcp_timestamps", "0"); // TIME_WAIT here can never be reused
  pair.client.set_sysctl("net.ipv4.tcp_tw_reuse", "1");
  auto server = start_server(pair.server, pair.server_v4);
  const auto probe_ptr = attach(cookie_of(pair.client));
  ASSERT_TRUE(probe_ptr->attached());
  const EvidenceProbe& probe = *probe_ptr;
  // Each round prints "ROUND OK FAILED OTHER" and then the ports whose connect() succeeded.
  const std::string script = "import socket, time, errno\n"
                             "for rnd in range(2):\n"
                             "    ok, failed, other, ports = 0, 0, 0, []\n"
                             "    for p in range(41000, 41010):\n"
                             "        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                             "        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                             "        s.bind(('" +
                             pair.client_v4 +
                             "', p))\n"
                             "        s.settimeout(2)\n"
                             "        try:\n"
                             "            s.connect(('" +
                             pair.server_v4 +
                             "', 8080))\n"
                             "            ok += 1\n"
                             "            ports.append(p)\n"
                             "        except OSError as e:\n"
                             "            if e.errno == errno.EADDRNOTAVAIL:\n"
                             "                failed += 1\n"
                             "            else:\n"
                             "                other += 1\n"
                             "        s.close()\n"
                             "    print(rnd, ok, failed, other, *ports)\n"
                             "    time.sleep(0.5)\n";
  const RunResult r = pair.client.run({ "python3", "-c", script }, {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split(trim(r.out), '\n');
  ASSERT_EQ(lines.size(), 2u) << r.out;
  const auto first = split(lines[0], ' ');
  const auto second = split(lines[1], ' ');
  ASSERT_GE(first.size(), 4u) << r.out;
  ASSERT_GE(second.size(), 4u) << r.out;
  ASSERT_EQ(std::string(first[1]), "10") << r.out; // round 0: every port free, every connect made
  const std::uint64_t ok = std::stoull(std::string(second[1]));
  const std::uint64_t failed = std::stoull(std::string(second[2]));
  ASSERT_EQ(std::string(second[3]), "0") << r.out;
  // Round 1 meets each round-0 tuple in TIME_WAIT, which the kernel cannot reuse without
  // timestamps. Under load a few tuples were seen free instead (once in CI: 8 and 7 of 10 failed),
  // their TIME_WAIT gone early; the counters below say how. The probe must follow the kernel
  // either way, so the expectations count what the kernel did, and most connects must fail for
  // the case to be tested at all.
  std::string counters = "client:";
  for (const char* name :
       { "TcpEstabResets", "TcpExtTWRecycled", "TcpExtTCPTimeWaitOverflow", "TcpExtTCPAbortOnData" }) {
    counters += std::string(" ") + name + " " + std::to_string(pair.client.counter(name));
  }
  counters += "; server: TcpOutRsts " + std::to_string(pair.server.counter("TcpOutRsts"));
  EXPECT_GE(failed, 5u) << r.out << counters;
  EXPECT_EQ(ok + failed, 10u) << r.out;

  const SymptomEvidence e = probe.collect(2.0);
  const SymptomDestination* d = e.destination(pair.server_v4 + ":8080");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->connect_ok, 10u + ok) << r.out << counters;
  EXPECT_EQ(d->connect_eaddrnotavail, failed) << r.out << counters;
  EXPECT_EQ(d->handshakes_ok, 10u + ok) << r.out << counters;
  EXPECT_EQ(d->handshakes_failed, 0u);
  // A tuple whose TIME_WAIT ended early is a takeover to the probe, which sees tuples, not the
  // TIME_WAIT sockets (see RecycledConnectsMatchTheTwRecycledCounter); none can be a failed one.
  EXPECT_LE(d->recycled, ok) << r.out << counters;
  EXPECT_EQ(d->recycled_failed, 0u);
  if (ok > 0) {
    std::fprintf(
      stderr, "note: %s; round 1 found free: %s\n", counters.c_str(), std::string(lines[1]).c_str());
  }
}

// bind() to port 0 failing with EADDRINUSE, counted exactly per local address and process: once
// per failed call, a retry on the same socket included; a bind() with IP_BIND_ADDRESS_NO_PORT
// (no port chosen), a fixed port and UDP are not counted.
TEST_P(ProbeHooksLiveTest, FailedBindsToPortZeroAreCountedExactly)
{
  Netns ns("prbinds");
  ns.set_sysctl("net.ipv4.ip_local_port_range", "40000 40001"); // 2 ports, both held below
  const auto probe_ptr = attach(cookie_of(ns));
  ASSERT_TRUE(probe_ptr->attached());
  const std::string script =
    "import socket, errno\n"
    "held = []\n"
    "for _ in range(2):\n"
    "    s = socket.socket(); s.bind(('0.0.0.0', 0)); held.append(s)\n"
    "failed = {'0.0.0.0': 0, '127.0.0.1': 0, '::': 0}\n"
    "def try_bind(s, addr):\n"
    "    try:\n"
    "        s.bind((addr, 0))\n"
    "    except OSError as e:\n"
    "        assert e.errno == errno.EADDRINUSE, e\n"
    "        failed[addr] += 1\n"
    "for addr in ['0.0.0.0', '0.0.0.0', '127.0.0.1']:\n"
    "    s = socket.socket(); try_bind(s, addr); s.close()\n"
    "s = socket.socket(); try_bind(s, '0.0.0.0'); try_bind(s, '0.0.0.0'); s.close()\n"
    "s = socket.socket(socket.AF_INET6); try_bind(s, '::'); s.close()\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT\n"
    "s.bind(('0.0.0.0', 0)); s.close()\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 9)); s.close()\n"
    "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', 0)); u.close()\n"
    "print(failed['0.0.0.0'], failed['127.0.0.1'], failed['::'])\n";
  const RunResult r = ns.run({ "python3", "-c", script }, {}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(trim(r.out), "4 1 1") << "the kernel failed other binds than planned";

  const SymptomEvidence e = probe_ptr->collect(1.0);
  std::map<std::string, std::uint64_t> counted;
  for (const auto& b : e.bind_eaddrinuse) {
    counted[b.local] += b.count;
    ASSERT_EQ(b.processes.size(), 1u) << b.local;
    EXPECT_EQ(b.processes[0].comm, "python3") << b.local;
    EXPECT_EQ(b.processes[0].eaddrinuse, b.count) << b.local;
  }
  EXPECT_EQ(counted,
            (std::map<std::string, std::uint64_t>{ { "0.0.0.0", 4 }, { "127.0.0.1", 1 }, { "::", 1 } }));
  EXPECT_EQ(e.dropped, 0u);
}

INSTANTIATE_TEST_SUITE_P(Hooks,
                         ProbeHooksLiveTest,
                         ::testing::Values(ProbeHooks::socket, ProbeHooks::system_call),
                         hooks_name);

// Without CAP_NET_ADMIN the socket hooks cannot load (cgroup programs); with CAP_BPF and
// CAP_PERFMON the probe falls back to the system-call hook, and the evidence says so and why.
TEST_F(ProbeLiveTest, WithoutNetAdminTheProbeFallsBackToTheSystemCallHookAndSaysWhy)
{
  Netns ns("prnoadm");
  const json p = plan(ns,
                      { "--sample", "1" },
                      { "setpriv",
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        "--inh-caps=-all,+bpf,+perfmon",
                        "--ambient-caps=-all,+bpf,+perfmon",
                        "--bounding-set=-all,+bpf,+perfmon" });
  const json& e = p.at("evidence");
  EXPECT_EQ(e.at("source"), "probe") << e.dump();
  const std::string reason = e.at("reason");
  EXPECT_NE(reason.find("BPF probe on connect(), bind()"), std::string::npos) << reason;
  EXPECT_NE(reason.find("system-call hook"), std::string::npos) << reason;
  EXPECT_NE(reason.find("CAP_NET_ADMIN"), std::string::npos) << reason;

  const json root = plan(ns, { "--sample", "1" });
  EXPECT_NE(root.at("evidence").at("reason").get<std::string>().find("BPF probe on TCP sockets"),
            std::string::npos)
    << root.at("evidence").dump();
}

// `plan --all-netns --sample N`: one window for the whole node. One probe watches every namespace
// and each namespace's plan gets only its own rows (split by netns cookie) and its own counter
// rates: connect() failing in one namespace is evidence there, not in its neighbours.
TEST_F(ProbeLiveTest, OneWindowForTheWholeNodeSplitsTheProbeByNamespace)
{
  HostPair stuck("prnodes");
  auto stuck_server = fill_source_ports(stuck);
  HostPair fine("prnodef");
  auto fine_server = start_server(fine.server, fine.server_v4);
  BackgroundProcess failing(stuck.client.exec_argv(
    client_argv(stuck.server_v4, 150, { "--close-first", "--interval-ms", "20", "--timeout-ms", "6000" })));
  BackgroundProcess working(fine.client.exec_argv(
    client_argv(fine.server_v4, 60, { "--close-first", "--interval-ms", "50", "--timeout-ms", "6000" })));

  const RunResult r =
    run({ m_advisor, "plan", "--all-netns", "--sample", "2", "--root", m_root.string(), "--format", "json" },
        {},
        {},
        std::chrono::seconds(90));
  failing.stop();
  working.stop();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json node = json::parse(r.out);
  const auto plan_of = [&node, &r](const Netns& ns) -> json {
    const json* e = node_entry(node, ns);
    if (e != nullptr && e->contains("plan")) {
      return e->at("plan");
    }
    ADD_FAILURE() << ns.name() << " not judged: " << r.out.substr(0, 2000);
    return json::object();
  };

  const json s = plan_of(stuck.client);
  EXPECT_EQ(s.at("evidence").at("source"), "probe") << s.at("evidence").dump();
  EXPECT_NE(s.at("evidence").at("reason").get<std::string>().find("every network namespace"),
            std::string::npos);
  ASSERT_FALSE(s.at("evidence").at("destinations").empty()) << s.at("evidence").dump();
  EXPECT_EQ(s["evidence"]["destinations"][0]["destination"], stuck.server_v4 + ":8080");
  EXPECT_GT(s["evidence"]["destinations"][0]["connect_eaddrnotavail"].get<int>(), 20)
    << s.at("evidence").dump();
  EXPECT_EQ(s.at("verdict"), "helps") << reasons(s);
  EXPECT_GE(s.at("facts").at("rates").at("interval_seconds").get<double>(), 2.0);

  const json f = plan_of(fine.client);
  EXPECT_EQ(f.at("evidence").at("source"), "probe");
  ASSERT_EQ(f.at("evidence").at("destinations").size(), 1u) << f.at("evidence").dump();
  EXPECT_EQ(f["evidence"]["destinations"][0]["destination"], fine.server_v4 + ":8080");
  EXPECT_GT(f["evidence"]["destinations"][0]["connect_ok"].get<int>(), 10);
  EXPECT_EQ(f["evidence"]["destinations"][0]["connect_eaddrnotavail"], 0);
  EXPECT_GT(f.at("facts").at("rates").at("delta").value("Tcp.ActiveOpens", 0), 10)
    << f.at("facts").at("rates").dump();

  const json server = plan_of(stuck.server);
  EXPECT_TRUE(server.at("evidence").at("destinations").empty()) << server.at("evidence").dump();
}

// A namespace born during the window (a pod that starts) is judged too, and its evidence says it
// has no window of its own rather than borrowing another's.
TEST_F(ProbeLiveTest, ANamespaceBornDuringTheNodeWindowIsJudgedAndSaysSo)
{
  const fs::path out = m_root / "node.json";
  // -v says when the probe is attached: the listing is done by then.
  BackgroundProcess run({ "sh",
                          "-c",
                          "{ " + m_advisor + " plan --all-netns --sample 3 -v --root " + m_root.string() +
                            " --format json 2>&1 >" + out.string() +
                            "; echo rc=$?; } | grep --line-buffered -e 'probe: ' -e rc=; echo exited" });
  ASSERT_TRUE(run.wait_for_output("probe: ", std::chrono::seconds(30))) << run.output();
  Netns born("prborn");
  ASSERT_TRUE(run.wait_for_output("exited", std::chrono::seconds(60))) << run.output();
  EXPECT_NE(run.output().find("rc=0"), std::string::npos) << run.output();
  std::ifstream in(out);
  const json node = json::parse(in);
  const json* entry = node_entry(node, born);
  ASSERT_NE(entry, nullptr) << "a namespace born in the window is judged: " << node.dump().substr(0, 1500);
  ASSERT_TRUE(entry->contains("plan")) << entry->dump();
  EXPECT_EQ(entry->at("plan").at("evidence").at("source"), "counters");
  EXPECT_NE(entry->at("plan")
              .at("evidence")
              .at("reason")
              .get<std::string>()
              .find("appeared after the --sample window"),
            std::string::npos)
    << entry->at("plan").at("evidence").dump();
}

TEST_F(ProbeLiveTest, BindClientAndConnectClientAreToldApartAndJudgedDifferently)
{
  HostPair pair("prbind");
  // Every port towards the server in TIME_WAIT: the same picture in sock_diag for both clients below.
  auto server = fill_source_ports(pair);

  // A client that bind()s to port 0 before connect(): bind() fails with EADDRINUSE.
  {
    BackgroundProcess client(pair.client.exec_argv(
      client_argv(pair.server_v4,
                  150,
                  { "--close-first", "--bind-port0", "--interval-ms", "20", "--timeout-ms", "6000" })));
    const json p = plan(pair.client, { "--sample", "2" });
    client.stop();
    const json& e = p.at("evidence");
    EXPECT_EQ(e.at("source"), "probe") << e.dump();
    ASSERT_FALSE(e.at("bind_eaddrinuse").empty()) << e.dump();
    EXPECT_EQ(e["bind_eaddrinuse"][0]["local"], "0.0.0.0");
    EXPECT_GT(e["bind_eaddrinuse"][0]["count"].get<int>(), 20);
    EXPECT_EQ(e["bind_eaddrinuse"][0]["processes"][0]["comm"], "tw-loadgen");
    for (const auto& d : e.at("destinations")) {
      EXPECT_EQ(d.at("connect_eaddrnotavail"), 0) << d.dump();
    }
    EXPECT_EQ(p.at("verdict"), "irrelevant") << reasons(p);
    EXPECT_NE(reasons(p).find("bind() to port 0 failed"), std::string::npos) << reasons(p);
    EXPECT_TRUE(p.at("changes").empty()) << p.at("changes").dump();
    EXPECT_TRUE(has_id(p.at("findings"), "bind-eaddrinuse")) << p.at("findings").dump();
    EXPECT_TRUE(has_id(p.at("advice"), "bind-address-no-port")) << p.at("advice").dump();
  }

  // A client that lets connect() pick the port: connect() fails with EADDRNOTAVAIL.
  {
    BackgroundProcess client(pair.client.exec_argv(
      client_argv(pair.server_v4, 150, { "--close-first", "--interval-ms", "20", "--timeout-ms", "6000" })));
    const json p = plan(pair.client, { "--sample", "2" });
    client.stop();
    const json& e = p.at("evidence");
    EXPECT_EQ(e.at("source"), "probe") << e.dump();
    EXPECT_TRUE(e.at("bind_eaddrinuse").empty()) << e.dump();
    ASSERT_FALSE(e.at("destinations").empty()) << e.dump();
    EXPECT_EQ(e["destinations"][0]["destination"], pair.server_v4 + ":8080");
    EXPECT_GT(e["destinations"][0]["connect_eaddrnotavail"].get<int>(), 20) << e.dump();
    EXPECT_EQ(p.at("verdict"), "helps") << reasons(p);
    EXPECT_NE(reasons(p).find("connect() calls failed with EADDRNOTAVAIL"), std::string::npos) << reasons(p);
    EXPECT_NE(reasons(p).find("all from pid"), std::string::npos) << reasons(p);
    EXPECT_TRUE(has_id(p.at("findings"), "connect-eaddrnotavail")) << p.at("findings").dump();
  }
}

// apply's watch with the probe: connect() failing before the change, not during the watch, passes
// and the outcome says what the probe measured before and during.
TEST_F(ProbeLiveTest, ApplyWatchPassesWhenConnectFailuresFallAndSaysWhatItMeasured)
{
  HostPair pair("prapply");
  auto server = fill_source_ports(pair);
  // Failing connects every 20 ms for the baseline and the watch (about 7 s).
  BackgroundProcess client(pair.client.exec_argv(
    client_argv(pair.server_v4, 600, { "--close-first", "--interval-ms", "20", "--timeout-ms", "15000" })));
  const RunResult r = pair.client.run({ m_advisor,
                                        "apply",
                                        "--yes",
                                        "--no-persist",
                                        "--watch",
                                        "3s",
                                        "--format",
                                        "json",
                                        "--root",
                                        m_root.string(),
                                        "--state-dir",
                                        (m_root / "state").string() },
                                      {},
                                      std::chrono::seconds(60));
  client.stop();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report.at("outcome"), "applied") << report.dump();
  const std::string reason = report.at("reason");
  EXPECT_NE(reason.find("connect() EADDRNOTAVAIL"), std::string::npos) << reason;
  // "connect() EADDRNOTAVAIL 48.3/s before, 0.0/s during the watch": the watch saw them fall.
  const std::string tag = "connect() EADDRNOTAVAIL ";
  const auto at = reason.find(tag);
  ASSERT_NE(at, std::string::npos) << reason;
  std::size_t used = 0;
  const double before = std::stod(reason.substr(at + tag.size()), &used);
  const auto comma = reason.find("/s before, ", at);
  ASSERT_NE(comma, std::string::npos) << reason;
  const double during = std::stod(reason.substr(comma + 11));
  EXPECT_GT(before, 10.0) << reason; // ~50/s from the client's 20 ms interval
  EXPECT_LT(during, before / 2) << reason;
  EXPECT_NE(reason.find("(BPF probe)"), std::string::npos) << reason;
  EXPECT_NE(r.err.find("watching the health counters for 3 s, and connect() and bind() with the BPF probe"),
            std::string::npos)
    << r.err;
  EXPECT_EQ(pair.client.get_sysctl("net.ipv4.tcp_tw_reuse"), "1");
}

TEST_F(ProbeLiveTest, WithoutPrivilegesOrWithNoProbeThePlanFallsBackAndSaysWhy)
{
  Netns ns("prpriv");
  const json unprivileged = plan(ns,
                                 { "--sample", "1" },
                                 { "setpriv",
                                   "--reuid=65534",
                                   "--regid=65534",
                                   "--clear-groups",
                                   "--inh-caps=-all",
                                   "--bounding-set=-all" });
  EXPECT_EQ(unprivileged["evidence"]["source"], "counters") << unprivileged["evidence"].dump();
  EXPECT_NE(unprivileged["evidence"]["reason"].get<std::string>().find("CAP_BPF"), std::string::npos)
    << unprivileged["evidence"].dump();

  const json no_probe = plan(ns, { "--sample", "1", "--no-probe" });
  EXPECT_EQ(no_probe["evidence"]["source"], "counters");
  EXPECT_EQ(no_probe["evidence"]["reason"], "--no-probe");

  const json no_window = plan(ns);
  EXPECT_EQ(no_window["evidence"]["source"], "counters");
  EXPECT_NE(no_window["evidence"]["reason"].get<std::string>().find("--sample"), std::string::npos);

  const json probed = plan(ns, { "--sample", "1" });
  EXPECT_EQ(probed["evidence"]["source"], "probe") << probed["evidence"].dump();
  EXPECT_EQ(probed["evidence"]["window_seconds"], 1);

  // The text says which evidence in one line.
  const RunResult text =
    ns.run({ m_advisor, "plan", "--root", m_root.string(), "--sample", "1", "--no-probe" });
  EXPECT_NE(text.out.find("\nevidence: counters only (--no-probe)\n"), std::string::npos) << text.out;
}

TEST_F(ProbeLiveTest, CensusWithSampleShowsWhatTheProbeMeasured)
{
  HostPair pair("prcensus");
  pair.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40009"); // 10 ports
  auto server = start_server(pair.server, pair.server_v4);
  BackgroundProcess client(pair.client.exec_argv(
    client_argv(pair.server_v4,
                60,
                { "--hold", "10", "--hold-ms", "5000", "--interval-ms", "20", "--timeout-ms", "6000" })));
  const json c = advisor_json(pair.client, { "census", "--sample", "2" });
  client.stop();
  const json& e = c.at("evidence");
  EXPECT_EQ(e.at("source"), "probe") << e.dump();
  ASSERT_FALSE(e.at("destinations").empty()) << e.dump();
  EXPECT_GT(e["destinations"][0]["connect_eaddrnotavail"].get<int>(), 0) << e.dump();
  EXPECT_EQ(e["destinations"][0]["processes"][0]["comm"], "tw-loadgen");
  EXPECT_EQ(c.at("states").at("established"), 10) << c.at("states").dump();
}

} // namespace
} // namespace tw::test
