#include "model/sysctl.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

TEST(PortRange, ParsesTabSeparatedProcValue)
{
  const auto range = parse_port_range("32768\t60999\n");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->low, 32768U);
  EXPECT_EQ(range->high, 60999U);
  EXPECT_EQ(range->size(), 28232U);
}

TEST(PortRange, RejectsMalformedAndOutOfRange)
{
  EXPECT_FALSE(parse_port_range("32768").has_value());
  EXPECT_FALSE(parse_port_range("1 70000").has_value());
  EXPECT_FALSE(parse_port_range("a b").has_value());
  EXPECT_EQ(parse_port_range("2000 1000")->size(), 0U);
}

TEST(PortList, ParsesReservedPortsSyntax)
{
  const auto list = parse_port_list("1000-1010,2000\n");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2U);
  EXPECT_EQ((*list)[0].size(), 11U);
  EXPECT_EQ((*list)[1].low, 2000U);
  EXPECT_TRUE(parse_port_list("")->empty());
  EXPECT_FALSE(parse_port_list("10-5").has_value());
  EXPECT_FALSE(parse_port_list("1,x").has_value());
}

TEST(Sysctls, TypedAccessorsOnlyForReadValues)
{
  Sysctls s;
  s.values["net.ipv4.tcp_tw_reuse"] = SysctlValue{ "net.ipv4.tcp_tw_reuse", ReadStatus::ok, "2", 0, "" };
  s.values["net.ipv4.tcp_tw_reuse_delay"] =
    SysctlValue{ "net.ipv4.tcp_tw_reuse_delay", ReadStatus::absent, "", 2, "" };
  EXPECT_EQ(s.get_int("net.ipv4.tcp_tw_reuse"), 2);
  EXPECT_FALSE(s.get_int("net.ipv4.tcp_tw_reuse_delay").has_value());
  EXPECT_EQ(s.find("net.ipv4.nothing"), nullptr);
}

} // namespace
} // namespace tw
