// The live tests' own footing: a HostPair is two namespaces that can talk TCP over IPv4 and
// IPv6, with kernel-default sysctls of their own, and nothing of it outlives the test.
#include "support/netns.hpp"

#include <gtest/gtest.h>

#include <filesystem>

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

} // namespace
} // namespace tw::test
