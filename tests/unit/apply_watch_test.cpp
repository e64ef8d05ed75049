#include "apply/watch.hpp"
#include "report/apply_report.hpp"

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

// The progress line fits the terminal: the counters that rose most come first, the rest are
// counted, and nothing reaches the last column (a terminal would wrap it and \r would not return).
TEST(ApplyWatch, TheProgressLineFitsTheTerminal)
{
  WatchSample sample;
  sample.elapsed_seconds = 12.4;
  sample.reused = 37;
  sample.rise = { { "Tcp.AttemptFails", 0.0 },
                  { "TcpExt.PAWSActive", 0.25 },
                  { "TcpExt.PAWSEstab", 0.0 },
                  { "TcpExt.TSEcrRejected", 0.0 },
                  { "TcpExt.TCPSynRetrans", 1.5 } };
  const std::string wide = watch_progress_line(sample, std::chrono::seconds(60), 200);
  EXPECT_EQ(wide,
            "  watching 12/60 s  TcpExt.TCPSynRetrans +1.50/s  TcpExt.PAWSActive +0.25/s  Tcp.AttemptFails "
            "+0.00/s  TcpExt.PAWSEstab +0.00/s  TcpExt.TSEcrRejected +0.00/s  reused 37");
  for (const std::size_t width : { 20U, 30U, 40U, 50U, 80U, 100U }) {
    const std::string line = watch_progress_line(sample, std::chrono::seconds(60), width);
    EXPECT_LT(line.size(), width) << width << ": " << line;
    EXPECT_EQ(line.rfind("  watching 12/60 s", 0), 0U) << line;
    // TWRecycled whenever the terminal has room for it beside the time.
    EXPECT_EQ(line.find("reused 37") != std::string::npos, width > 29) << width << ": " << line;
  }
  const std::string eighty = watch_progress_line(sample, std::chrono::seconds(60), 80);
  EXPECT_EQ(eighty, "  watching 12/60 s  TcpExt.TCPSynRetrans +1.50/s  +4 more  reused 37");
}

} // namespace
} // namespace tw
