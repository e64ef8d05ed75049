// The facts layer against a real kernel: counters and NAT evidence read inside namespaces
// this test makes, while real connections cross a veth pair between them (TESTING.md).
#include "facts/counters.hpp"
#include "facts/gather.hpp"
#include "facts/nat.hpp"
#include "facts/netns.hpp"
#include "facts/tuned.hpp"
#include "support/netns.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace tw::test {
namespace {

sockaddr_in v4(const std::string& addr, std::uint16_t port)
{
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
    throw std::runtime_error("bad address " + addr);
  }
  return sa;
}

// A server in its own namespace that accepts `expected` connections (bounded by a deadline),
// notes each peer address, waits for the client's FIN and closes: the client closes first,
// so TIME_WAIT lands on the client (TESTING.md rule 5).
class Server
{
public:
  Server(const Netns& netns, const std::string& addr, std::uint16_t port, int expected)
  {
    std::promise<std::string> ready;
    auto started = ready.get_future();
    m_thread = std::thread([this, &netns, addr, port, expected, &ready]() {
      try {
        EnterNetns in(netns);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        const sockaddr_in sa = v4(addr, port);
        if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
            ::listen(fd, 128) != 0) {
          ready.set_value(std::string("listen on ") + addr + ": " + std::strerror(errno));
          return;
        }
        ready.set_value("");
        serve(fd, expected);
        ::close(fd);
      } catch (const std::exception& e) {
        ready.set_value(e.what());
      }
    });
    const std::string error = started.get();
    if (!error.empty()) {
      m_thread.join();
      throw std::runtime_error(error);
    }
  }
  ~Server() { join(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Waits for the server to finish (it stops after `expected` connections or its deadline).
  void join()
  {
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }
  // The peer addresses it accepted from, in order.
  const std::vector<std::string>& peers() const { return m_peers; }

private:
  void serve(int fd, int expected)
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (static_cast<int>(m_peers.size()) < expected && std::chrono::steady_clock::now() < deadline) {
      pollfd p{ fd, POLLIN, 0 };
      if (::poll(&p, 1, 200) <= 0) {
        continue;
      }
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      const int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (c < 0) {
        continue;
      }
      char text[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
      m_peers.emplace_back(text);
      timeval tv{ 5, 0 };
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[64];
      while (::recv(c, buf, sizeof buf, 0) > 0) {
      }
      ::close(c);
    }
  }

  std::thread m_thread;
  std::vector<std::string> m_peers;
};

// Opens `count` connections from the calling thread's namespace and closes each at once.
void connect_and_close(const std::string& addr, std::uint16_t port, int count)
{
  const sockaddr_in sa = v4(addr, port);
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    timeval tv{ 5, 0 };
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    const int err = errno;
    ::close(fd);
    ASSERT_EQ(rc, 0) << "connect " << addr << ":" << port << " #" << i << ": " << std::strerror(err);
  }
}

std::uint64_t delta(const Counters& before, const Counters& after, const std::string& key)
{
  const auto b = before.get(key);
  const auto a = after.get(key);
  EXPECT_TRUE(b.has_value() && a.has_value()) << key << " missing";
  return (a && b && *a >= *b) ? *a - *b : 0;
}

// conntrack lives in nf_conntrack; it is built in here or a module. Loading the module is
// allowed (it is not a sysctl); when that fails the test says why.
bool conntrack_usable(std::string& why)
{
  struct stat st
  {};
  if (::stat("/proc/sys/net/netfilter/nf_conntrack_max", &st) == 0) {
    return true;
  }
  const RunResult probe = run({ "modprobe", "nf_conntrack" });
  if (::stat("/proc/sys/net/netfilter/nf_conntrack_max", &st) == 0) {
    return true;
  }
  why = "nf_conntrack is not in this kernel and `modprobe nf_conntrack` failed (exit " +
        std::to_string(probe.exit_code) + "): " + probe.err;
  return false;
}

#define TW_REQUIRE_CONNTRACK()                                                                               \
  do {                                                                                                       \
    std::string tw_ct_why;                                                                                   \
    if (!conntrack_usable(tw_ct_why)) {                                                                      \
      if (std::getenv("TW_ADVISOR_REQUIRE_NETNS") != nullptr) {                                              \
        FAIL() << tw_ct_why;                                                                                 \
      }                                                                                                      \
      GTEST_SKIP() << tw_ct_why;                                                                             \
    }                                                                                                        \
  } while (false)

// A second address in the client's /24 ("198.18.7.1" -> "198.18.7.3"): the SNAT target.
std::string third_address(const std::string& client_v4)
{
  return client_v4.substr(0, client_v4.rfind('.')) + ".3";
}

std::size_t count_lines(const std::string& text)
{
  std::size_t n = 0;
  for (const std::string_view line : split(text, '\n')) {
    n += trim(line).empty() ? 0U : 1U;
  }
  return n;
}

bool contains(const std::vector<std::string>& v, const std::string& s)
{
  return std::find(v.begin(), v.end(), s) != v.end();
}

constexpr std::uint16_t k_port = 18080;

TEST(FactsLive, CountersFollowRealConnections)
{
  TW_REQUIRE_NETNS();
  HostPair pair("fcnt");
  constexpr int k_connections = 25;

  Counters client_before;
  Counters server_before;
  {
    EnterNetns in(pair.client);
    client_before = read_counters("/proc");
  }
  {
    EnterNetns in(pair.server);
    server_before = read_counters("/proc");
  }
  ASSERT_TRUE(client_before.available) << client_before.error;
  {
    Server server(pair.server, pair.server_v4, k_port, k_connections);
    EnterNetns in(pair.client);
    connect_and_close(pair.server_v4, k_port, k_connections);
    server.join();
    EXPECT_EQ(server.peers().size(), static_cast<std::size_t>(k_connections));
  }
  Counters client_after;
  Counters server_after;
  {
    EnterNetns in(pair.client);
    // The last FIN/ACK exchange may still be in flight; TIME_WAIT follows within a few ms.
    for (int i = 0; i < 50; ++i) {
      client_after = read_counters("/proc");
      if (client_after.get("sockstat.tw").value_or(0) >= static_cast<std::uint64_t>(k_connections)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  {
    EnterNetns in(pair.server);
    server_after = read_counters("/proc");
  }
  ASSERT_TRUE(client_after.available) << client_after.error;

  // Fresh namespaces: nothing but this test opens connections in them, so the deltas are exact.
  EXPECT_EQ(delta(client_before, client_after, "Tcp.ActiveOpens"), static_cast<std::uint64_t>(k_connections));
  EXPECT_EQ(delta(client_before, client_after, "Tcp.PassiveOpens"), 0U);
  EXPECT_EQ(delta(server_before, server_after, "Tcp.PassiveOpens"),
            static_cast<std::uint64_t>(k_connections));
  EXPECT_EQ(delta(server_before, server_after, "Tcp.ActiveOpens"), 0U);
  // The client closed first: each connection left one TIME_WAIT socket there, none on the server.
  EXPECT_EQ(delta(client_before, client_after, "TcpExt.TW"), static_cast<std::uint64_t>(k_connections));
  // A TIME_WAIT socket dies early on a peer RST (tcp_rfc1337=0); under load the server sometimes
  // sends one (seen in CI: 24 of 25 left), so each RST the server sent may take one away.
  const std::uint64_t server_rsts = delta(server_before, server_after, "Tcp.OutRsts");
  const std::uint64_t tw_now = client_after.get("sockstat.tw").value_or(0);
  EXPECT_LE(tw_now, static_cast<std::uint64_t>(k_connections));
  EXPECT_GE(tw_now + server_rsts, static_cast<std::uint64_t>(k_connections)) << "server RSTs " << server_rsts;
  EXPECT_EQ(server_after.get("sockstat.tw"), 0U);
  EXPECT_EQ(delta(server_before, server_after, "TcpExt.TW"), 0U);

  const CounterRates rates = sample_rates(client_before, client_after, 1.0);
  EXPECT_EQ(rates.delta.at("Tcp.ActiveOpens"), static_cast<std::uint64_t>(k_connections));
}

TEST(FactsLive, SnatRuleAndItsConntrackEntriesAreSeen)
{
  TW_REQUIRE_NETNS();
  TW_REQUIRE_CONNTRACK();
  HostPair pair("fsnat");
  const std::string outer = third_address(pair.client_v4);
  pair.client.add_address(outer + "/24");

  NatEvidence before;
  {
    EnterNetns in(pair.client);
    before = read_nat_evidence("/proc");
  }
  EXPECT_EQ(before.nat_rules_present, std::optional<bool>(false)) << before.nat_rules_note;
  EXPECT_TRUE(before.conntrack_available) << before.conntrack_note;
  EXPECT_EQ(before.snat_entries, 0U);

  pair.client.run_ok({ "nft", "add", "table", "ip", "twnat" });
  pair.client.run_ok(
    { "nft", "add", "chain", "ip", "twnat", "post", "{ type nat hook postrouting priority 100 ; }" });
  pair.client.run_ok(
    { "nft", "add", "rule", "ip", "twnat", "post", "ip", "daddr", pair.server_v4, "snat", "to", outer });

  constexpr int k_connections = 12;
  {
    Server server(pair.server, pair.server_v4, k_port, k_connections);
    EnterNetns in(pair.client);
    connect_and_close(pair.server_v4, k_port, k_connections);
    server.join();
    // The rule really rewrote the source: the server saw only the second address.
    ASSERT_EQ(server.peers().size(), static_cast<std::size_t>(k_connections));
    for (const std::string& peer : server.peers()) {
      EXPECT_EQ(peer, outer);
    }
  }

  NatEvidence after;
  NatEvidence capped;
  {
    EnterNetns in(pair.client);
    after = read_nat_evidence("/proc");
    capped = read_nat_evidence("/proc", 5);
  }
  ASSERT_EQ(after.nat_rules_present, std::optional<bool>(true)) << after.nat_rules_note;
  EXPECT_TRUE(contains(after.nat_rules, "nft ip twnat post: snat"))
    << ::testing::PrintToString(after.nat_rules);
  EXPECT_FALSE(after.random_fully);

  ASSERT_TRUE(after.conntrack_available) << after.conntrack_note;
  EXPECT_FALSE(after.cap_hit);
  EXPECT_EQ(after.cap, k_default_conntrack_cap);
  // Conntrack keeps closed TCP flows for 120 s (TIME_WAIT timeout), so all of them are there.
  EXPECT_GE(after.snat_entries, static_cast<std::uint64_t>(k_connections));
  EXPECT_EQ(after.dnat_entries, 0U);

  // Cross-check with the conntrack tool in the same namespace (entries only grow here: nothing
  // else runs in it and none can expire within 120 s).
  const RunResult listed = pair.client.run({ "conntrack", "-L", "--src-nat", "-p", "tcp" });
  if (listed.exit_code == 0) {
    EXPECT_EQ(after.snat_entries, count_lines(listed.out)) << listed.out;
  } else {
    ADD_FAILURE() << "conntrack -L failed (exit " << listed.exit_code << "): " << listed.err;
  }

  // The cap bounds the scan and makes the counts lower bounds.
  EXPECT_TRUE(capped.conntrack_available) << capped.conntrack_note;
  EXPECT_TRUE(capped.cap_hit);
  EXPECT_EQ(capped.entries_scanned, 5U);
  EXPECT_LE(capped.snat_entries, 5U);
  EXPECT_NE(capped.conntrack_note.find("lower bounds"), std::string::npos) << capped.conntrack_note;

  // The server's namespace has neither rules nor NAT'd flows.
  NatEvidence server_side;
  {
    EnterNetns in(pair.server);
    server_side = read_nat_evidence("/proc");
  }
  EXPECT_EQ(server_side.nat_rules_present, std::optional<bool>(false)) << server_side.nat_rules_note;
  EXPECT_EQ(server_side.snat_entries, 0U);
}

TEST(FactsLive, MasqueradeFullyRandomIsSeen)
{
  TW_REQUIRE_NETNS();
  TW_REQUIRE_CONNTRACK();
  HostPair pair("fmasq");
  pair.client.run_ok({ "nft", "add", "table", "inet", "twm" });
  pair.client.run_ok(
    { "nft", "add", "chain", "inet", "twm", "post", "{ type nat hook postrouting priority 100 ; }" });
  pair.client.run_ok(
    { "nft", "add", "rule", "inet", "twm", "post", "oifname", "eth0", "masquerade", "fully-random" });

  constexpr int k_connections = 8;
  {
    Server server(pair.server, pair.server_v4, k_port, k_connections);
    EnterNetns in(pair.client);
    connect_and_close(pair.server_v4, k_port, k_connections);
    server.join();
    EXPECT_EQ(server.peers().size(), static_cast<std::size_t>(k_connections));
  }

  NatEvidence evidence;
  {
    EnterNetns in(pair.client);
    evidence = read_nat_evidence("/proc");
  }
  ASSERT_EQ(evidence.nat_rules_present, std::optional<bool>(true)) << evidence.nat_rules_note;
  EXPECT_TRUE(contains(evidence.nat_rules, "nft inet twm post: masquerade fully-random"))
    << ::testing::PrintToString(evidence.nat_rules);
  EXPECT_TRUE(evidence.random_fully);
  ASSERT_TRUE(evidence.conntrack_available) << evidence.conntrack_note;
  // Masquerade to the interface's own address still sets IPS_SRC_NAT on every flow it handled.
  EXPECT_GE(evidence.snat_entries, static_cast<std::uint64_t>(k_connections));
}

TEST(FactsLive, GatherSamplesRatesAroundRealTraffic)
{
  TW_REQUIRE_NETNS();
  HostPair pair("fgath");
  constexpr int k_connections = 10;
  Server server(pair.server, pair.server_v4, k_port, k_connections);

  GatherOptions options;
  options.sample_seconds = 2.0;
  int sleeps = 0;
  std::chrono::milliseconds slept(0);
  // The "sleep" between the two readings is where the traffic happens, so the rates are known. The
  // window is slept in steps (ESTABLISHED is counted between them): the traffic goes in the first.
  options.sleep = [&](std::chrono::milliseconds duration) {
    if (sleeps++ == 0) {
      connect_and_close(pair.server_v4, k_port, k_connections);
      server.join();
    }
    slept += duration;
  };
  Facts facts;
  struct stat ns_file
  {};
  ASSERT_EQ(::stat(pair.client.path().c_str(), &ns_file), 0);
  {
    EnterNetns in(pair.client);
    facts = gather_facts(options);
  }
  EXPECT_EQ(sleeps, 4); // 2 s in steps of 0.5 s
  EXPECT_LE(slept, std::chrono::milliseconds(2000));
  // The counts between the steps took some of it: a few ms, far more on a loaded machine, never
  // half (a window that lost that much would say so in its rates).
  EXPECT_GE(slept, std::chrono::milliseconds(1000));
  EXPECT_TRUE(facts.established.measured) << facts.established.error;
  EXPECT_EQ(facts.established.at_seconds.size(), 5U);
  EXPECT_EQ(facts.host.netns_inode, static_cast<std::uint64_t>(ns_file.st_ino)); // the client's namespace
  EXPECT_FALSE(facts.host.kernel_release.empty());
  EXPECT_TRUE(facts.counters.available) << facts.counters.error;
  ASSERT_TRUE(facts.rates.has_value());
  EXPECT_DOUBLE_EQ(facts.rates->interval_seconds, 2.0);
  EXPECT_EQ(facts.rates->delta.at("Tcp.ActiveOpens"), static_cast<std::uint64_t>(k_connections));
  EXPECT_DOUBLE_EQ(*facts.rates->rate("Tcp.ActiveOpens"), k_connections / 2.0);
  EXPECT_FALSE(facts.sysctls.values.empty());
  std::string no_conntrack;
  if (conntrack_usable(no_conntrack)) {
    EXPECT_TRUE(facts.nat.conntrack_available) << facts.nat.conntrack_note;
  }
  EXPECT_EQ(facts.nat.nat_rules_present, std::optional<bool>(false)) << facts.nat.nat_rules_note;
  EXPECT_TRUE(facts.sockets.available) << facts.sockets.error;
}

// TuneD in a container, as the Node Tuning Operator runs it: a real process named tuned, chrooted
// into a tree of its own with an active profile, in this test's network namespace; and one like
// it in a network namespace of its own. Found through /proc/PID/root, /proc/PID/comm and
// /proc/PID/ns/net as the kernel shows them; only the first one sets the host's keys.
TEST(FactsLive, TunedInAContainerIsReadThroughProcWhenItSharesTheHostsNetwork)
{
  TW_REQUIRE_NETNS();
  namespace fs = std::filesystem;
  const fs::path tree = fs::temp_directory_path() / ("twa-tuned-live-" + std::to_string(::getpid()));
  struct RemoveTree // the tree goes however the test ends (an ASSERT returns early)
  {
    fs::path path;
    ~RemoveTree()
    {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } const remove_tree{ tree };
  fs::create_directories(tree / "etc/tuned/openshift-node");
  fs::create_directories(tree / "etc/sysctl.d");
  std::ofstream(tree / "etc/tuned/active_profile") << "openshift-node\n";
  std::ofstream(tree / "etc/tuned/openshift-node/tuned.conf") << "[sysctl]\nnet.ipv4.tcp_tw_reuse = 0\n";
  const std::string script = "import os, sys, time\n"
                             "open('/proc/self/comm', 'w').write('tuned')\n"
                             "os.chroot(sys.argv[1])\n"
                             "os.chdir('/')\n"
                             "print('ready', flush=True)\n"
                             "time.sleep(120)\n";
  BackgroundProcess here({ "python3", "-c", script, tree.string() });
  ASSERT_TRUE(here.wait_for_output("ready", std::chrono::seconds(10))) << here.output();
  const Netns ns("twtuned");
  BackgroundProcess away(ns.exec_argv({ "python3", "-c", script, tree.string() }));
  ASSERT_TRUE(away.wait_for_output("ready", std::chrono::seconds(10))) << away.output();

  const std::string here_pid = std::to_string(here.pid());
  const std::string away_pid = std::to_string(away.pid());
  int found = 0;
  for (const auto& d : tuned_daemons("/proc", "/")) {
    if (d.pid == here_pid || d.pid == away_pid) {
      ++found;
      EXPECT_FALSE(d.host_root) << d.pid << ": chrooted, not the host's root";
    }
  }
  EXPECT_EQ(found, 2);

  const std::uint64_t host = host_netns_inode();
  struct stat self
  {};
  ASSERT_EQ(::stat("/proc/self/ns/net", &self), 0);
  const auto claims = read_container_tuned_claims("/proc", "/", host, { "net.ipv4.tcp_tw_reuse" });
  const auto claim_of = [&](const std::string& pid) -> const TunerClaim* {
    for (const auto& c : claims) {
      if (c.owner == "TuneD profile openshift-node in a container (pid " + pid + ")") {
        return &c;
      }
    }
    return nullptr;
  };
  const TunerClaim* mine = claim_of(here_pid);
  if (host == 0 || self.st_ino == host) {
    ASSERT_NE(mine, nullptr) << claims.size() << " claims";
    EXPECT_EQ(mine->source, "/proc/" + here_pid + "/root/etc/tuned/openshift-node/tuned.conf:2");
    EXPECT_EQ(mine->value, "0");
    EXPECT_TRUE(mine->running);
    EXPECT_TRUE(mine->overrides_sysctld) << "its /etc/sysctl.d is not the host's";
  } else {
    EXPECT_EQ(mine, nullptr) << "this test runs outside the host's network namespace";
  }
  EXPECT_EQ(claim_of(away_pid) != nullptr, host == 0) << "a TuneD in a network namespace of its own";
  here.stop();
  away.stop();
}

} // namespace
} // namespace tw::test
