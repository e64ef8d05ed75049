#pragma once

#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tw::test {

// Skips the current test when network namespaces cannot be made here (not root, no `ip`),
// unless TW_ADVISOR_REQUIRE_NETNS is set, in which case it fails it. Use as
// `if (!netns_usable()) { GTEST_SKIP() << why; }` via the TW_REQUIRE_NETNS() macro.
bool netns_usable(std::string& why);

#define TW_REQUIRE_NETNS()                                                                                   \
  do {                                                                                                       \
    std::string tw_netns_why;                                                                                \
    if (!::tw::test::netns_usable(tw_netns_why)) {                                                           \
      if (std::getenv("TW_ADVISOR_REQUIRE_NETNS") != nullptr) {                                              \
        FAIL() << "network namespaces required (TW_ADVISOR_REQUIRE_NETNS is set): " << tw_netns_why;         \
      }                                                                                                      \
      GTEST_SKIP() << tw_netns_why;                                                                          \
    }                                                                                                        \
  } while (false)

// A network namespace made for one test, removed (with every process in it) on destruction.
// Names are "twa-<pid>-<n>-<tag>", unique to the run; namespaces left by a crashed run
// (whose pid is gone) are swept when the next one is made.
class Netns
{
public:
  // Makes the namespace and brings its loopback up.
  explicit Netns(const std::string& tag);
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  // The namespace name, for `ip netns exec NAME`.
  const std::string& name() const { return m_name; }

  // argv run inside the namespace.
  std::vector<std::string> exec_argv(const std::vector<std::string>& argv) const;
  // Runs argv inside the namespace.
  RunResult run(const std::vector<std::string>& argv,
                const std::vector<std::string>& extra_env = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;
  // Runs argv inside the namespace and fails the test unless it exits 0.
  RunResult run_ok(const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

  // Writes a net.* sysctl inside this namespace (never the host's): `sysctl -w key=value`.
  void set_sysctl(const std::string& key, const std::string& value) const;
  // Reads a sysctl inside this namespace, whitespace folded.
  std::string get_sysctl(const std::string& key) const;
  // A kernel counter of this namespace by nstat's name ("TcpExtTWRecycled"), absolute; throws
  // when nstat does not report it.
  std::uint64_t counter(const std::string& name) const;
  // Adds one more address (e.g. a SNAT source "198.18.7.3/24") to dev here; throws on failure.
  void add_address(const std::string& cidr, const std::string& dev = "eth0") const;
  // The file `ip netns` pins the namespace to: open it for setns, stat it for the namespace inode.
  std::string path() const { return "/run/netns/" + m_name; }

private:
  std::string m_name;
};

// The addresses of the two ends of a veth link, each with its prefix ("198.18.1.1/24",
// "fd00:198:18:1::1/64"). An empty IPv6 address leaves that end IPv4-only.
struct LinkAddresses
{
  std::string a_v4;
  std::string b_v4;
  std::string a_v6 = {};
  std::string b_v6 = {};
};

// Joins a and b with a veth pair named eth0 on both sides, gives each end its addresses
// (IPv6 with nodad, so they work at once) and brings both up. The pair lives only in the two
// namespaces, so it goes when either is removed. Throws std::runtime_error naming the `ip`
// command that failed and its stderr.
void link_namespaces(const Netns& a, const Netns& b, const LinkAddresses& addrs);

// Two hosts joined by a veth pair: client 198.18.<k>.1/24 + fd00:198:18:<k>::1/64,
// server 198.18.<k>.2/24 + fd00:198:18:<k>::2/64, where k is unique to the pair in this run.
struct HostPair
{
  explicit HostPair(const std::string& tag);

  Netns client;
  Netns server;
  std::string client_v4;
  std::string server_v4;
  std::string client_v6;
  std::string server_v6;
};

// Moves the calling thread into ns and back on destruction, for tests that call the library
// in-process: its /proc/net and netlink reads follow the calling thread's namespace.
class EnterNetns
{
public:
  explicit EnterNetns(const Netns& ns);
  ~EnterNetns();
  EnterNetns(const EnterNetns&) = delete;
  EnterNetns& operator=(const EnterNetns&) = delete;

private:
  int m_home = -1;
};

// A child process started in the background (e.g. a server), killed on destruction.
class BackgroundProcess
{
public:
  explicit BackgroundProcess(const std::vector<std::string>& argv);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // Waits (bounded) until a line containing `marker` appears on its stdout; false on timeout/exit.
  bool wait_for_output(const std::string& marker, std::chrono::milliseconds timeout);
  // Everything read from its stdout so far.
  const std::string& output() const { return m_out; }
  // Its process id (`ip netns exec` execs the command: the same process).
  int pid() const { return m_pid; }
  // Stops it (SIGTERM, then SIGKILL) and returns its exit code.
  int stop();

private:
  int m_pid = -1;
  int m_out_fd = -1;
  std::string m_out;
  bool m_stopped = false;
  int m_exit_code = -1;
};

// `advisor ARGS --format json` inside ns, after prefix (e.g. env VAR=x, setpriv ...) when given:
// it must exit 0 and print one JSON document (a test failure otherwise, and {} is returned).
nlohmann::json advisor_json(const Netns& ns,
                            const std::string& advisor,
                            std::vector<std::string> args,
                            std::vector<std::string> prefix = {});

} // namespace tw::test
