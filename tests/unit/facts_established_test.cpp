// Outbound ESTABLISHED per destination through a --sample window: the trend from counts (pure),
// and the window cut into evenly spaced counts with the sleep and the count injected.
#include "facts/established.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <thread>

namespace tw::test {
namespace {

SocketWants::Endpoint v4(const char* address, std::uint16_t port)
{
  SocketWants::Endpoint e;
  e.family = AF_INET;
  e.port = port;
  inet_pton(AF_INET, address, e.address.data());
  return e;
}

EstablishedCount count(std::initializer_list<std::pair<SocketWants::Endpoint, std::uint64_t>> entries)
{
  EstablishedCount c;
  c.ok = true;
  for (const auto& [e, n] : entries) {
    c.by_destination[e] = n;
  }
  return c;
}

TEST(FactsEstablished, TheTrendKeepsTheDestinationsThatGainedWithTheirSlope)
{
  const auto leak = v4("198.18.0.1", 8080);
  const auto pool = v4("198.18.0.2", 5432);
  const auto gone = v4("198.18.0.3", 443);
  const EstablishedTrend t = established_trend({ 0, 1, 2, 3 },
                                               { count({ { leak, 10 }, { pool, 20 }, { gone, 5 } }),
                                                 count({ { leak, 12 }, { pool, 20 } }),
                                                 count({ { leak, 14 }, { pool, 21 } }),
                                                 count({ { leak, 16 }, { pool, 20 } }) });
  ASSERT_TRUE(t.measured) << t.error;
  EXPECT_EQ(t.destinations_counted, 3U);
  ASSERT_EQ(t.destinations.size(), 1U) << "the pool ended where it began, the third fell";
  EXPECT_EQ(t.destinations[0].destination, "198.18.0.1:8080");
  EXPECT_EQ(t.destinations[0].established, (std::vector<std::uint64_t>{ 10, 12, 14, 16 }));
  EXPECT_DOUBLE_EQ(t.destinations[0].slope_per_second, 2.0);
  // A destination that appears during the window counts from 0.
  const EstablishedTrend fresh = established_trend({ 0, 1 }, { count({}), count({ { leak, 4 } }) });
  ASSERT_EQ(fresh.destinations.size(), 1U);
  EXPECT_EQ(fresh.destinations[0].established, (std::vector<std::uint64_t>{ 0, 4 }));
}

TEST(FactsEstablished, AFailedCountLeavesTheTrendUnmeasuredAndSaysWhy)
{
  EstablishedCount failed;
  failed.error = "send inet_diag_req_v2 (AF_INET): Permission denied";
  const EstablishedTrend t = established_trend({ 0, 1 }, { count({}), failed });
  EXPECT_FALSE(t.measured);
  EXPECT_EQ(t.error, failed.error);
  EXPECT_TRUE(t.destinations.empty());
}

TEST(FactsEstablished, ALeakIsKeptAheadOfPoolsThatGainedMoreButFell)
{
  EstablishedCount first = count({});
  EstablishedCount middle = count({});
  EstablishedCount last = count({});
  for (std::uint16_t i = 1; i <= 25; ++i) { // busy pools: up 100, down 50
    first.by_destination[v4("198.18.0.2", i)] = 0;
    middle.by_destination[v4("198.18.0.2", i)] = 100;
    last.by_destination[v4("198.18.0.2", i)] = 50;
  }
  const auto leak = v4("198.18.0.1", 8080);
  first.by_destination[leak] = 0;
  middle.by_destination[leak] = 10;
  last.by_destination[leak] = 20;
  const EstablishedTrend t = established_trend({ 0, 1, 2 }, { first, middle, last });
  ASSERT_EQ(t.destinations.size(), EstablishedTrend::k_max_destinations);
  EXPECT_EQ(t.destinations.front().destination, "198.18.0.1:8080");
}

TEST(FactsEstablished, AtMostTwentyDestinationsMostGainedFirst)
{
  EstablishedCount before = count({});
  EstablishedCount after = count({});
  for (std::uint16_t i = 1; i <= 30; ++i) {
    after.by_destination[v4("198.18.0.1", i)] = i;
  }
  const EstablishedTrend t = established_trend({ 0, 2 }, { before, after });
  EXPECT_EQ(t.destinations_counted, 30U);
  ASSERT_EQ(t.destinations.size(), EstablishedTrend::k_max_destinations);
  EXPECT_EQ(t.destinations.front().destination, "198.18.0.1:30");
  EXPECT_EQ(t.destinations.back().destination, "198.18.0.1:11");
}

TEST(FactsEstablished, TheWindowIsCutInEvenStepsWithACountAtEachEnd)
{
  std::vector<std::chrono::milliseconds> slept;
  int counts = 0;
  const auto leak = v4("198.18.0.1", 8080);
  const EstablishedTrend t = watch_established(
    std::chrono::milliseconds(2000),
    [&slept](std::chrono::milliseconds d) { slept.push_back(d); },
    [&counts, &leak] {
      ++counts;
      std::this_thread::sleep_for(std::chrono::milliseconds(30)); // a count takes time
      return count({ { leak, static_cast<std::uint64_t>(counts * 10) } });
    });
  EXPECT_EQ(counts, 5); // 0, 0.5, 1, 1.5, 2 s
  ASSERT_EQ(slept.size(), 4U);
  std::chrono::milliseconds total(0);
  for (const auto d : slept) {
    EXPECT_LE(d.count(), 470); // the 30 ms a count took come off the next sleep
    EXPECT_GE(d.count(), 400); // and no more than that
    total += d;
  }
  EXPECT_LE(total.count(), 2000 - 4 * 30);
  ASSERT_EQ(t.at_seconds.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(t.at_seconds[i], 0.5 * static_cast<double>(i), 0.05) << i; // where the count began
  }
  ASSERT_EQ(t.destinations.size(), 1U);
  EXPECT_NEAR(t.destinations[0].slope_per_second, 20.0, 1.0);

  // A long window takes 11 counts; a short one still two.
  counts = 0;
  watch_established(
    std::chrono::milliseconds(60000),
    [](std::chrono::milliseconds) {},
    [&counts] {
      ++counts;
      return count({});
    });
  EXPECT_EQ(counts, 11);
  counts = 0;
  const EstablishedTrend short_one = watch_established(
    std::chrono::milliseconds(300),
    [](std::chrono::milliseconds) {},
    [&counts] {
      ++counts;
      return count({});
    });
  EXPECT_EQ(counts, 2);
  EXPECT_EQ(short_one.at_seconds, (std::vector<double>{ 0.0, 0.3 }));
}

} // namespace
} // namespace tw::test
