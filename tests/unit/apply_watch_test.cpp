#include "apply/watch.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tw {
namespace {

Counters reading(std::map<std::string, std::uint64_t> values)
{
  Counters c;
  c.available = true;
  c.values = std::move(values);
  return c;
}

const std::vector<WatchThreshold> k_thresholds = { { "Tcp.AttemptFails", 2.0, "attempt-fails" },
                                                   { "TcpExt.PAWSActive", 0.5, "paws" } };

TEST(Watch, QuietCountersDoNotTrip)
{
  const auto s = evaluate_watch(reading({ { "Tcp.AttemptFails", 100 }, { "TcpExt.PAWSActive", 0 } }),
                                reading({ { "Tcp.AttemptFails", 103 }, { "TcpExt.PAWSActive", 0 } }),
                                10.0,
                                {},
                                k_thresholds);
  EXPECT_FALSE(s.trip.has_value());
  EXPECT_DOUBLE_EQ(s.rise.at("Tcp.AttemptFails"), 0.3);
}

TEST(Watch, RiseOverThresholdTripsAndNamesTheCounter)
{
  const auto s = evaluate_watch(reading({ { "Tcp.AttemptFails", 100 } }),
                                reading({ { "Tcp.AttemptFails", 150 } }),
                                5.0,
                                {},
                                k_thresholds);
  ASSERT_TRUE(s.trip.has_value());
  EXPECT_NE(s.trip->find("Tcp.AttemptFails"), std::string::npos) << *s.trip;
  EXPECT_NE(s.trip->find("attempt-fails"), std::string::npos) << *s.trip;
}

TEST(Watch, BaselineRateIsSubtracted)
{
  // 10/s before apply, 11/s after: a rise of 1/s, under the 2/s limit.
  const auto s = evaluate_watch(reading({ { "Tcp.AttemptFails", 0 } }),
                                reading({ { "Tcp.AttemptFails", 55 } }),
                                5.0,
                                { { "Tcp.AttemptFails", 10.0 } },
                                k_thresholds);
  EXPECT_FALSE(s.trip.has_value());
  EXPECT_NEAR(s.rise.at("Tcp.AttemptFails"), 1.0, 1e-9);
}

TEST(Watch, MissingOrBackwardsCountersAreNotJudged)
{
  const auto s = evaluate_watch(reading({ { "Tcp.AttemptFails", 500 } }),
                                reading({ { "Tcp.AttemptFails", 10 }, { "TcpExt.PAWSActive", 99 } }),
                                1.0,
                                {},
                                k_thresholds);
  EXPECT_FALSE(s.trip.has_value());
  EXPECT_EQ(s.rise.count("TcpExt.PAWSActive"), 0u);
}

TEST(Watch, ReportsReuseWithoutTripping)
{
  const auto s = evaluate_watch(reading({ { "TcpExt.TWRecycled", 5 } }),
                                reading({ { "TcpExt.TWRecycled", 905 } }),
                                3.0,
                                {},
                                k_thresholds);
  EXPECT_EQ(s.reused, 900u);
  EXPECT_FALSE(s.trip.has_value());
}

TEST(Watch, DefaultsCoverTheHealthCounters)
{
  std::set<std::string> names;
  for (const auto& t : default_watch_thresholds()) {
    names.insert(t.counter);
  }
  for (const char* n : { "Tcp.AttemptFails",
                         "TcpExt.PAWSActive",
                         "TcpExt.PAWSEstab",
                         "TcpExt.TSEcrRejected",
                         "TcpExt.TCPSynRetrans" }) {
    EXPECT_EQ(names.count(n), 1u) << n;
  }
}

} // namespace
} // namespace tw
