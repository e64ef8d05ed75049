// One rule for sysctl names, shared by the policy loader, the plan reader and the sysctl reader.
#include "facts/sysctl_reader.hpp"
#include "util/percent.hpp"
#include "util/sysctl_key.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tw::test {

namespace {

TEST(SysctlKey, DottedNamesAreValid)
{
  EXPECT_TRUE(is_valid_sysctl_key("net.ipv4.tcp_tw_reuse"));
  EXPECT_TRUE(is_valid_sysctl_key("net.ipv4.conf.eth-0.rp_filter"));
  EXPECT_TRUE(is_valid_sysctl_key("net.ipv6.conf.enP1s0.accept_ra")); // interface names may be upper case
  EXPECT_TRUE(is_valid_sysctl_key("kernel"));
}

TEST(SysctlKey, AnythingThatCouldLeaveProcSysIsNot)
{
  for (const char* bad : { "",
                           ".",
                           "net.",
                           ".net",
                           "net..ipv4",
                           "net/ipv4/tcp_tw_reuse",
                           "../../etc/passwd",
                           "net.ipv4.tcp tw",
                           "net.ipv4.x\n",
                           "net.ipv4.\x7f" }) {
    EXPECT_FALSE(is_valid_sysctl_key(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_sysctl_key(std::string(256, 'a')));
  EXPECT_TRUE(is_valid_sysctl_key(std::string(255, 'a')));
}

TEST(SysctlKey, TheSysctlReaderUsesTheSameRule)
{
  EXPECT_TRUE(sysctl_path("/proc/sys", "net.ipv4.tcp_tw_reuse").has_value());
  EXPECT_EQ(*sysctl_path("/proc/sys", "net.ipv4.tcp_tw_reuse"), "/proc/sys/net/ipv4/tcp_tw_reuse");
  EXPECT_FALSE(sysctl_path("/proc/sys", "net..ipv4").has_value());
  EXPECT_FALSE(sysctl_path("/proc/sys", "net.ipv4.a b").has_value());
}

TEST(Percent, SmallSharesNeverReadAsZero)
{
  EXPECT_EQ(percent(1.0), "100%");
  EXPECT_EQ(percent(0.48), "48%");
  EXPECT_EQ(percent(0.003), "0.3%");
  EXPECT_EQ(percent(0.0), "0%");
  EXPECT_EQ(percent_of(1, 3), "33%");
  EXPECT_EQ(percent_of(5, 0), "-");
}

// The rate a port range allows under 60 s of TIME_WAIT, rounded down, never overstated.
TEST(Percent, TimeWaitRateIsRoundedDown)
{
  EXPECT_EQ(time_wait_rate(1000), "16"); // 16.67
  EXPECT_EQ(time_wait_rate(600), "10");
  EXPECT_EQ(time_wait_rate(599), "9.9"); // 9.98
  EXPECT_EQ(time_wait_rate(101), "1.6"); // 1.68
  EXPECT_EQ(time_wait_rate(5), "0.0");
}

} // namespace

} // namespace tw::test
