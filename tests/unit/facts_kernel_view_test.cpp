#include "facts/kernel_view.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

TEST(FactsKernelView, ProcNetTcpListeners)
{
  const auto ports = parse_proc_net_tcp_listeners("  sl  local_address rem_address   st tx_queue rx_queue\n"
                                                  "   0: 00000000:0016 00000000:0000 0A 00000000:00000000\n"
                                                  "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n"
                                                  "   2: 0100007F:9C40 0100007F:1F90 06 00000000:00000000\n"
                                                  "   3: 0100007F:0016 00000000:0000 0A 00000000:00000000\n");
  EXPECT_EQ(ports, (std::vector<std::uint16_t>{ 22, 8080 }));
  const auto v6 = parse_proc_net_tcp_listeners(
    "   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0\n");
  EXPECT_EQ(v6, (std::vector<std::uint16_t>{ 443 }));
  EXPECT_TRUE(parse_proc_net_tcp_listeners("garbage\n   0: zz:zz 0 0A\n").empty());
}

} // namespace
} // namespace tw
