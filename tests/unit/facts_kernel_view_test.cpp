#include "facts/kernel_view.hpp"
#include "util/error.hpp"

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

// Another machine's `sysctl -a`, as CI runners get it: often with stderr mixed in (run without
// root), an empty value's trailing space lost, or the wrong file given.
TEST(FactsKernelView, SysctlAOfAnotherMachine)
{
  const auto view = kernel_view_from_sysctl_a("net.ipv4.tcp_tw_reuse = 2\n"
                                              "sysctl: permission denied on key 'net.ipv4.tcp_fastopen_key'\n"
                                              "sysctl: reading key \"net.ipv6.conf.all.stable_secret\": "
                                              "Input/output error\n"
                                              "dev.cdrom.info = CD-ROM information, Id: cdrom.c 3.20\n"
                                              "dev.cdrom.info = \n"
                                              "dev.cdrom.info = drive name:\tsr0\n"
                                              "net.ipv4.ip_local_reserved_ports =\n"
                                              "net.ipv4.ip_local_port_range = 32768\t60999\n"
                                              "net.ipv4.tcp_tw_reuse = 2\n",
                                              "target.sysctl",
                                              std::nullopt);
  EXPECT_EQ(view.read("net.ipv4.tcp_tw_reuse").status, ReadStatus::ok);
  EXPECT_EQ(view.read("net.ipv4.tcp_tw_reuse").value, "2");
  EXPECT_EQ(view.read("net.ipv4.ip_local_port_range").value, "32768 60999");
  const auto empty = view.read("net.ipv4.ip_local_reserved_ports");
  EXPECT_EQ(empty.status, ReadStatus::ok);
  EXPECT_EQ(empty.value, "");
  const auto denied = view.read("net.ipv4.tcp_fastopen_key");
  EXPECT_EQ(denied.status, ReadStatus::denied) << "the target has it; sysctl could not read it";
  EXPECT_NE(denied.detail.find("target.sysctl"), std::string::npos) << denied.detail;
  EXPECT_NE(denied.detail.find("line 2: sysctl: permission denied on key"), std::string::npos)
    << denied.detail;
  const auto unread = view.read("net.ipv6.conf.all.stable_secret");
  EXPECT_EQ(unread.status, ReadStatus::denied);
  EXPECT_NE(unread.detail.find("Input/output error"), std::string::npos)
    << "sysctl's own words: " << unread.detail;
  // A value of several lines: procps repeats the key on each.
  EXPECT_EQ(view.read("dev.cdrom.info").value, "CD-ROM information, Id: cdrom.c 3.20 drive name: sr0");
  EXPECT_EQ(view.read("net.ipv4.tcp_tw_recycle").status, ReadStatus::absent);

  const auto refused = [](const std::string& text) {
    try {
      (void)kernel_view_from_sysctl_a(text, "t.sysctl", std::nullopt);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refused("{\"schema_version\": 1}\n").find("t.sysctl:1: this is JSON"), std::string::npos);
  EXPECT_NE(refused("\xEF\xBB\xBF\n\n  {\n").find("t.sysctl:3: this is JSON"), std::string::npos)
    << refused("\xEF\xBB\xBF\n\n  {\n");
  const std::string twice =
    refused("net.ipv4.tcp_tw_reuse = 2\nnet.ipv4.tcp_timestamps = 1\nnet.ipv4.tcp_tw_reuse = 1\n");
  EXPECT_NE(twice.find("t.sysctl:3: net.ipv4.tcp_tw_reuse again, = 1 (line 1: 2)"), std::string::npos)
    << twice;
  EXPECT_NE(refused("sysctl: cannot stat /proc/sys/x\n").find("t.sysctl:1: a message of sysctl's"),
            std::string::npos);
  EXPECT_NE(refused("net.ipv4.tcp_tw_reuse =2\n").find("t.sysctl:1: expected"), std::string::npos);
  EXPECT_NE(refused("\n\n").find("holds no key"), std::string::npos);
}

} // namespace
} // namespace tw
