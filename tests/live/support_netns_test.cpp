// The live tests' own footing: a HostPair is two namespaces that can talk TCP over IPv4 and
// IPv6, with kernel-default sysctls of their own, and nothing of it outlives the test;
// link_namespaces, which HostPair and tests with namespaces of their own use, on its own.
#include "support/netns.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <tuple>

namespace tw::test {
namespace {

TEST(NetnsSupport, HostPairCarriesTcpBothFamiliesAndIsRemoved)
{
  TW_REQUIRE_NETNS();
  const auto loadgen = required_env("TW_LOADGEN_BIN");
  std::string client_name;
  {
    HostPair pair("np");
    client_name = pair.client.name();
    EXPECT_TRUE(std::filesystem::exists("/run/netns/" + client_name));
    // A new namespace starts from kernel defaults, not from the host's values.
    EXPECT_EQ(pair.client.get_sysctl("net.ipv4.tcp_tw_reuse"), "2");
    for (const auto& [server_addr, bind] : { std::pair{ pair.server_v4, std::string("0.0.0.0") },
                                             std::pair{ pair.server_v6, std::string("::") } }) {
      BackgroundProcess server(pair.server.exec_argv(
        { loadgen, "server", "--bind", bind, "--port", "8080", "--count", "3", "--timeout-ms", "20000" }));
      ASSERT_TRUE(server.wait_for_output("ready", std::chrono::seconds(10)));
      const auto client = pair.client.run_ok(
        { loadgen, "client", "--connect", server_addr, "--port", "8080", "--count", "3", "--close-first" });
      EXPECT_NE(client.out.find("ok=3 "), std::string::npos) << client.out;
    }
    EXPECT_THROW(pair.client.set_sysctl("kernel.pid_max", "1"), std::runtime_error);
  }
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + client_name));
}

// Runs 3 client-closed connections from `from` to addr:8080, served in `to`; the client's result line.
std::string connect_across(const std::string& loadgen,
                           const Netns& from,
                           const Netns& to,
                           const std::string& addr)
{
  const std::string bind = addr.find(':') == std::string::npos ? "0.0.0.0" : "::";
  BackgroundProcess server(to.exec_argv(
    { loadgen, "server", "--bind", bind, "--port", "8080", "--count", "3", "--timeout-ms", "20000" }));
  if (!server.wait_for_output("ready", std::chrono::seconds(10))) {
    return "server in " + to.name() + " never said ready: " + server.output();
  }
  return from
    .run_ok({ loadgen, "client", "--connect", addr, "--port", "8080", "--count", "3", "--close-first" })
    .out;
}

TEST(NetnsSupport, LinkNamespacesCarriesTcpAndGoesWithEitherNamespace)
{
  TW_REQUIRE_NETNS();
  const auto loadgen = required_env("TW_LOADGEN_BIN");
  Netns a("lka");
  Netns d("lkd");
  {
    Netns b("lkb");
    Netns c("lkc");
    link_namespaces(a,
                    b,
                    { .a_v4 = "198.18.251.1/24",
                      .b_v4 = "198.18.251.2/24",
                      .a_v6 = "fd00:198:18:251::1/64",
                      .b_v6 = "fd00:198:18:251::2/64" });
    // No IPv6 given: that link stays IPv4-only.
    link_namespaces(c, d, { .a_v4 = "198.18.252.1/24", .b_v4 = "198.18.252.2/24" });

    const auto b_addrs = b.run_ok({ "ip", "-o", "addr", "show", "dev", "eth0" }).out;
    EXPECT_NE(b_addrs.find("198.18.251.2/24"), std::string::npos) << b_addrs;
    EXPECT_NE(b_addrs.find("fd00:198:18:251::2/64"), std::string::npos) << b_addrs;
    const auto d_v6 = d.run_ok({ "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global" }).out;
    EXPECT_EQ(d_v6, "");
    EXPECT_NE(d.run_ok({ "ip", "-4", "-o", "addr", "show", "dev", "eth0" }).out.find("198.18.252.2/24"),
              std::string::npos);

    // Real TCP across each link, both ways where both families are there.
    for (const auto& [from, to, addr] : { std::tuple{ &a, &b, std::string("198.18.251.2") },
                                          std::tuple{ &b, &a, std::string("fd00:198:18:251::1") },
                                          std::tuple{ &c, &d, std::string("198.18.252.2") } }) {
      const auto out = connect_across(loadgen, *from, *to, addr);
      EXPECT_NE(out.find("ok=3 "), std::string::npos) << from->name() << " -> " << addr << ": " << out;
    }

    // A failing step throws and names the `ip` command: c already has an eth0.
    try {
      link_namespaces(c, d, { .a_v4 = "198.18.253.1/24", .b_v4 = "198.18.253.2/24" });
      ADD_FAILURE() << "linking " << c.name() << " twice did not throw";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("ip -n " + c.name() + " link add eth0"), std::string::npos)
        << e.what();
    }
  }
  // b and c are gone: the end left in a (whose peer was moved into b) and the one left in d
  // (whose peer c made) go with them. Namespace teardown runs in the kernel's background, so
  // wait for it, bounded by the clock (30 s: one kernel work queue serves every namespace teardown,
  // and parallel tests load it).
  bool a_gone = false;
  bool d_gone = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(a_gone && d_gone) && std::chrono::steady_clock::now() < deadline) {
    a_gone = a.run({ "ip", "link", "show", "dev", "eth0" }).exit_code != 0;
    d_gone = d.run({ "ip", "link", "show", "dev", "eth0" }).exit_code != 0;
    if (!(a_gone && d_gone)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_TRUE(a_gone) << "eth0 still in " << a.name() << " after its peer's namespace was removed";
  EXPECT_TRUE(d_gone) << "eth0 still in " << d.name() << " after its peer's namespace was removed";
}

} // namespace
} // namespace tw::test
