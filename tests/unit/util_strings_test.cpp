#include "util/strings.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

TEST(Strings, NormalizeSpaceFoldsTabsAndTrims)
{
  EXPECT_EQ(normalize_space("32768\t60999\n"), "32768 60999");
  EXPECT_EQ(normalize_space("  a   b  "), "a b");
  EXPECT_EQ(normalize_space(""), "");
}

TEST(Strings, SplitKeepsEmptyFields)
{
  const auto parts = split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3U);
  EXPECT_EQ(parts[1], "");
}

TEST(Strings, ParseIntRejectsJunk)
{
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("-1"), -1);
  EXPECT_FALSE(parse_int("4x").has_value());
  EXPECT_FALSE(parse_int("+4").has_value());
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_FALSE(parse_uint("-4").has_value());
  EXPECT_EQ(parse_uint("18446744073709551615"), 18446744073709551615ULL);
}

TEST(Strings, ControlCharactersAreFoundAndShown)
{
  EXPECT_TRUE(has_control_char("1\n"));
  EXPECT_FALSE(has_control_char("32768 60999"));
  EXPECT_EQ(printable("a\nb"), "a\\x0ab");
}

} // namespace
} // namespace tw
