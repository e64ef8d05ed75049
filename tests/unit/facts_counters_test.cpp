#include "facts/counters.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

namespace tw {
namespace {

// Trimmed from a 6.1 kernel's /proc/net/snmp: Tcp MaxConn is -1.
constexpr const char* k_snmp =
  "Ip: Forwarding DefaultTTL InReceives\n"
  "Ip: 2 64 1234\n"
  "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\n"
  "Tcp: 1 200 120000 -1 4711 17 3\n"
  "Udp: InDatagrams NoPorts\n"
  "Udp: 10 0\n";

constexpr const char* k_netstat = "TcpExt: SyncookiesSent TW TWRecycled TCPTimeWaitOverflow PAWSActive\n"
                                  "TcpExt: 0 900 12 0 18446744073709551615\n"
                                  "IpExt: InNoRoutes InTruncatedPkts\n"
                                  "IpExt: 0 0\n";

TEST(FactsCounters, NetstatPairsHeaderAndValueLines)
{
  const Counters c = parse_netstat(k_netstat);
  EXPECT_TRUE(c.available);
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.get("TcpExt.TW"), 900U);
  EXPECT_EQ(c.get("TcpExt.TWRecycled"), 12U);
  EXPECT_EQ(c.get("TcpExt.PAWSActive"), 18446744073709551615ULL); // full 64-bit range
  EXPECT_EQ(c.get("IpExt.InNoRoutes"), 0U);
  EXPECT_EQ(c.values.size(), 7U);
}

TEST(FactsCounters, SnmpSignedMaxConnDoesNotBreakTheLine)
{
  const Counters c = parse_netstat(k_snmp, "/proc/net/snmp");
  EXPECT_TRUE(c.available);
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.get("Tcp.ActiveOpens"), 4711U);
  EXPECT_EQ(c.get("Tcp.PassiveOpens"), 17U);
  EXPECT_EQ(c.get("Tcp.AttemptFails"), 3U);
  EXPECT_FALSE(c.get("Tcp.MaxConn").has_value()); // a limit, not a counter
  EXPECT_EQ(c.get("Ip.Forwarding"), 2U);
  EXPECT_EQ(c.get("Udp.NoPorts"), 0U);
}

TEST(FactsCounters, NetstatValueCountMismatchIsAFindingWithFileAndLine)
{
  const Counters c =
    parse_netstat("TcpExt: TW TWRecycled\nTcpExt: 5\nIpExt: A\nIpExt: 1\n", "/proc/net/netstat");
  EXPECT_TRUE(c.available); // the good pair still counts
  EXPECT_EQ(c.get("IpExt.A"), 1U);
  EXPECT_FALSE(c.get("TcpExt.TW").has_value());
  EXPECT_NE(c.error.find("/proc/net/netstat:2:"), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("2 names but 1 values"), std::string::npos) << c.error;
}

TEST(FactsCounters, NetstatMissingValueLineAndJunk)
{
  const Counters a = parse_netstat("TcpExt: TW\n", "f");
  EXPECT_FALSE(a.available);
  EXPECT_NE(a.error.find("f:1: header \"TcpExt:\" has no value line"), std::string::npos) << a.error;

  const Counters b = parse_netstat("TcpExt: TW\nIpExt: 3\n", "f");
  EXPECT_NE(b.error.find("f:2: expected the value line of \"TcpExt:\""), std::string::npos) << b.error;

  const Counters c = parse_netstat("TcpExt: TW X\nTcpExt: 1 zz\n", "f");
  EXPECT_EQ(c.get("TcpExt.TW"), 1U);
  EXPECT_NE(c.error.find("f:2: TcpExt.X has a non-numeric value \"zz\""), std::string::npos) << c.error;

  const Counters d = parse_netstat("garbage\x01line\n", "f");
  EXPECT_FALSE(d.available);
  EXPECT_NE(d.error.find("f:1: expected a \"Prefix:\" header line"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("\\x01"), std::string::npos) << d.error; // control bytes quoted

  const Counters e = parse_netstat("", "f");
  EXPECT_FALSE(e.available);
  EXPECT_EQ(e.error, "f: no counters found");
}

TEST(FactsCounters, Sockstat)
{
  const Counters c = parse_sockstat("sockets: used 15\n"
                                    "TCP: inuse 5 orphan 0 tw 3 alloc 7 mem 1\n"
                                    "UDP: inuse 2 mem 0\n"
                                    "FRAG: inuse 0 memory 0\n");
  EXPECT_TRUE(c.available);
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.get("sockstat.tcp_inuse"), 5U);
  EXPECT_EQ(c.get("sockstat.tcp_tw"), 3U);
  EXPECT_EQ(c.get("sockstat.tw"), 3U);
  EXPECT_EQ(c.get("sockstat.tcp_alloc"), 7U);
  EXPECT_EQ(c.get("sockstat.sockets_used"), 15U);
  EXPECT_EQ(c.get("sockstat.udp_inuse"), 2U);
  EXPECT_EQ(c.get("sockstat.frag_memory"), 0U);
}

TEST(FactsCounters, Sockstat6AndMalformedSockstat)
{
  const Counters c = parse_sockstat("TCP6: inuse 4\nUDP6: inuse 1\n", "sockstat6", "/proc/net/sockstat6");
  EXPECT_EQ(c.get("sockstat6.tcp6_inuse"), 4U);
  EXPECT_FALSE(c.get("sockstat6.tw").has_value()); // only TCP: has the tw alias

  const Counters bad = parse_sockstat("TCP: inuse\nUDP: inuse -1\n", "sockstat", "/proc/net/sockstat");
  EXPECT_FALSE(bad.available);
  EXPECT_NE(bad.error.find("/proc/net/sockstat:1: expected"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("/proc/net/sockstat:2: sockstat.udp_inuse has a non-numeric value \"-1\""),
            std::string::npos)
    << bad.error;
}

class FactsCountersTree : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_root = std::filesystem::temp_directory_path() /
             ("tw-counters-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(m_root / "net");
  }
  void TearDown() override { std::filesystem::remove_all(m_root); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(m_root / rel) << text; }

  std::filesystem::path m_root;
};

TEST_F(FactsCountersTree, ReadsEveryFileAndNamesTheMissingOnes)
{
  write("net/netstat", k_netstat);
  write("net/snmp", k_snmp);
  write("net/sockstat", "TCP: inuse 5 orphan 0 tw 3 alloc 7 mem 1\n");
  const Counters c = read_counters(m_root);
  EXPECT_TRUE(c.available);
  EXPECT_EQ(c.get("TcpExt.TW"), 900U);
  EXPECT_EQ(c.get("Tcp.ActiveOpens"), 4711U);
  EXPECT_EQ(c.get("sockstat.tw"), 3U);
  EXPECT_NE(c.error.find((m_root / "net/sockstat6").string() + ": No such file or directory"),
            std::string::npos)
    << c.error;
}

TEST_F(FactsCountersTree, NothingReadableIsUnavailableWithPaths)
{
  const Counters c = read_counters(m_root / "nowhere");
  EXPECT_FALSE(c.available);
  EXPECT_TRUE(c.values.empty());
  EXPECT_NE(c.error.find((m_root / "nowhere/net/netstat").string() + ": No such file or directory"),
            std::string::npos)
    << c.error;
}

Counters make(std::initializer_list<std::pair<const std::string, std::uint64_t>> values)
{
  Counters c;
  c.available = true;
  c.values = values;
  return c;
}

TEST(FactsCounterRates, DeltasAndPerSecond)
{
  const Counters before = make({ { "TcpExt.TW", 100 }, { "Tcp.ActiveOpens", 50 }, { "gone", 1 } });
  const Counters after = make({ { "TcpExt.TW", 160 }, { "Tcp.ActiveOpens", 50 }, { "new", 9 } });
  const CounterRates r = sample_rates(before, after, 2.0);
  EXPECT_DOUBLE_EQ(r.interval_seconds, 2.0);
  EXPECT_EQ(r.delta.at("TcpExt.TW"), 60U);
  EXPECT_EQ(r.rate("TcpExt.TW"), 30.0);
  EXPECT_EQ(r.rate("Tcp.ActiveOpens"), 0.0);
  EXPECT_FALSE(r.rate("gone").has_value()); // only in one reading
  EXPECT_FALSE(r.rate("new").has_value());
}

TEST(FactsCounterRates, BackwardsCountersAreDroppedNotNegative)
{
  const CounterRates r =
    sample_rates(make({ { "a", 10 }, { "b", 5 } }), make({ { "a", 3 }, { "b", 5 } }), 1.0);
  EXPECT_EQ(r.delta.count("a"), 0U);
  EXPECT_FALSE(r.rate("a").has_value());
  EXPECT_EQ(r.delta.at("b"), 0U);
}

TEST(FactsCounterRates, SamplerReadsTwiceAroundOneSleep)
{
  std::vector<Counters> readings = { make({ { "TcpExt.TW", 10 } }), make({ { "TcpExt.TW", 40 } }) };
  std::size_t reads = 0;
  std::vector<std::chrono::milliseconds> sleeps;
  Counters latest;
  const CounterRates r = sample_counters([&]() { return readings.at(reads++); },
                                         1.5,
                                         [&](std::chrono::milliseconds d) { sleeps.push_back(d); },
                                         latest);
  EXPECT_EQ(reads, 2U);
  ASSERT_EQ(sleeps.size(), 1U);
  EXPECT_EQ(sleeps[0], std::chrono::milliseconds(1500));
  EXPECT_EQ(latest.get("TcpExt.TW"), 40U);
  EXPECT_EQ(r.delta.at("TcpExt.TW"), 30U);
  EXPECT_DOUBLE_EQ(*r.rate("TcpExt.TW"), 20.0);
}

TEST(FactsCounterRates, SamplerRefusesABadInterval)
{
  Counters latest;
  const auto never = []() -> Counters { throw std::logic_error("must not read"); };
  const auto no_sleep = [](std::chrono::milliseconds) {};
  EXPECT_THROW(sample_counters(never, 0.0, no_sleep, latest), Error);
  EXPECT_THROW(sample_counters(never, -1.0, no_sleep, latest), Error);
}

} // namespace
} // namespace tw
