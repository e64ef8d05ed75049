#include "util/duration.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

TEST(Duration, AcceptsSecondsMinutesHoursAndZero)
{
  EXPECT_EQ(parse_duration("0"), std::chrono::seconds(0));
  EXPECT_EQ(parse_duration("0s"), std::chrono::seconds(0));
  EXPECT_EQ(parse_duration("90"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("5m"), std::chrono::seconds(300));
  EXPECT_EQ(parse_duration("2h"), std::chrono::seconds(7200));
  EXPECT_EQ(parse_duration("24h"), std::chrono::seconds(86400));
}

TEST(Duration, RefusesJunk)
{
  for (const char* bad : { "",
                           "s",
                           "-5s",
                           "+5s",
                           "5x",
                           "5 m",
                           " 5m",
                           "1.5m",
                           "5ms",
                           "25h",
                           "99999999999999999999",
                           "1441m",
                           "m5",
                           "30s1m",
                           "1m1m",
                           "1h1h",
                           "1h1441m",
                           "h" }) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsBack)
{
  EXPECT_EQ(format_duration(std::chrono::seconds(0)), "0s");
  EXPECT_EQ(format_duration(std::chrono::seconds(90)), "1m30s");
  EXPECT_EQ(format_duration(std::chrono::seconds(300)), "5m");
  EXPECT_EQ(format_duration(std::chrono::seconds(3661)), "1h1m1s");
}

// What format_duration writes reads back: "1m30s", "1h1m1s".
TEST(Duration, CompoundDurationsReadBack)
{
  EXPECT_EQ(parse_duration("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::seconds(5400));
  EXPECT_EQ(parse_duration("23h59m59s"), std::chrono::seconds(86399));
  for (const std::int64_t s : { 0, 1, 59, 60, 61, 3599, 3600, 3661, 86400 }) {
    EXPECT_EQ(parse_duration(format_duration(std::chrono::seconds(s))), std::chrono::seconds(s)) << s;
  }
}

} // namespace
} // namespace tw
