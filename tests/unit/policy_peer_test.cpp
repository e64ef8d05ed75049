// The peer's timestamp agreement per pressured destination, and the wording around reuse: what
// the review of the plan engine found missing (a peer that refuses timestamps is never reused).
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"

#include <gtest/gtest.h>

namespace tw::test {
namespace {

// The /tmp/rvx/expA.sh client: 980 TIME_WAIT + 20 held connections fill a 1000-port range.
Facts peer_facts(std::uint64_t established, std::uint64_t with_ts)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000 - established, 1000 - established);
  set_group_timestamps(f, established, with_ts);
  return f;
}

TEST(PolicyPeer, PeerThatRefusesTimestampsBlocksAndIsNamed)
{
  const Plan p = make_plan(peer_facts(20, 0), Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::blocked) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  const Prerequisite* ts = p.prerequisite("tcp_timestamps");
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(ts->status, PrereqStatus::error);
  EXPECT_NE(ts->detail.find("0 of 20 live outbound connections to 198.18.1.1 -> 198.18.1.2:8080"),
            std::string::npos)
    << ts->detail;
  EXPECT_NE(ts->detail.find("no sysctl here fixes a peer"), std::string::npos) << ts->detail;
  EXPECT_NE(all_reasons(p).find("Blocked: tcp_timestamps"), std::string::npos) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("198.18.1.2:8080"), std::string::npos) << all_reasons(p);
  const Finding* x = p.finding("peer-refuses-timestamps");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->evidence.at("outbound_established"), 20);
  EXPECT_EQ(x->evidence.at("negotiated"), 0);
  ASSERT_NE(p.advice_for("peer-timestamps"), nullptr);
  EXPECT_NE(p.advice_for("peer-timestamps")->text.find("198.18.1.2"), std::string::npos);
}

TEST(PolicyPeer, AlmostNoneNegotiatedIsARefusalToo)
{
  // 1 of 20 (5%) is at most the policy's 10%: still blocked.
  EXPECT_EQ(make_plan(peer_facts(20, 1), Profile{}, config::builtin_policy()).verdict, Verdict::blocked);
  // 3 of 20 (15%) is above it: helps, with the low share as a warning.
  const Plan p = make_plan(peer_facts(20, 3), Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  EXPECT_EQ(p.prerequisite("tcp_timestamps")->status, PrereqStatus::warning);
}

TEST(PolicyPeer, PeerThatAgreesIsOkWithItsNumbers)
{
  const Plan p = make_plan(peer_facts(20, 20), Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  const Prerequisite* ts = p.prerequisite("tcp_timestamps");
  EXPECT_EQ(ts->status, PrereqStatus::ok) << ts->detail;
  EXPECT_NE(ts->detail.find("20 of 20 live outbound connections to 198.18.1.1 -> 198.18.1.2:8080"),
            std::string::npos)
    << ts->detail;
}

TEST(PolicyPeer, NoLiveSampleMeansTheAgreementIsUnknown)
{
  for (const std::uint64_t established : { 0u, 5u }) { // none, or fewer than min_timestamp_sample (10)
    const Plan p = make_plan(peer_facts(established, 0), Profile{}, config::builtin_policy());
    EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
    const Prerequisite* ts = p.prerequisite("tcp_timestamps");
    EXPECT_EQ(ts->status, PrereqStatus::warning) << ts->detail;
    EXPECT_NE(ts->detail.find("the peer's agreement is unknown for 198.18.1.1 -> 198.18.1.2:8080"),
              std::string::npos)
      << ts->detail;
    EXPECT_NE(ts->detail.find(std::to_string(established) + " live outbound connections there"),
              std::string::npos)
      << ts->detail;
    EXPECT_EQ(p.finding("peer-refuses-timestamps"), nullptr);
  }
}

TEST(PolicyPeer, TheGroupIsJudgedNotTheHost)
{
  // Plenty of agreeing peers elsewhere must not hide the pressured group's refusing peer.
  Facts f = peer_facts(20, 0);
  add_group(f, "198.18.1.1", "198.18.9.9", 443, 0, 0);
  set_group_timestamps(f, 500, 500);
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::blocked);
}

TEST(PolicyPeer, OneRefusingGroupOfTwoWarnsAndStillHelps)
{
  Facts f = peer_facts(20, 0);
  add_group(f, "198.18.1.1", "198.18.1.3", 8080, 900, 900);
  set_group_timestamps(f, 20, 20);
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  const Prerequisite* ts = p.prerequisite("tcp_timestamps");
  EXPECT_EQ(ts->status, PrereqStatus::warning) << ts->detail;
  EXPECT_NE(ts->detail.find("1 other pressured group can still be helped"), std::string::npos) << ts->detail;
}

TEST(PolicyPeer, RefusingPeerBlocksEvenWhenReuseIsAlreadyOn)
{
  Facts f = peer_facts(20, 0);
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "1");
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::blocked);
}

TEST(PolicyPeer, WithTimestampsOffHereThePeerIsNotBlamed)
{
  Facts f = peer_facts(20, 0); // nothing negotiates when this host does not offer
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 2u);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_timestamps");
  EXPECT_EQ(p.finding("peer-refuses-timestamps"), nullptr);
}

TEST(PolicyPeer, TurningTimestampsOnSaysReliefComesAsOldTimeWaitExpires)
{
  Facts f = peer_facts(0, 0);
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_EQ(p.verdict, Verdict::helps);
  EXPECT_NE(all_reasons(p).find("relief comes only as they expire, within 60 s"), std::string::npos)
    << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("tw_ts_recent_stamp = 0"), std::string::npos) << all_reasons(p);
  EXPECT_NE(p.changes[0].reason.find("within 60 s"), std::string::npos) << p.changes[0].reason;
}

TEST(PolicyPeer, ReuseDelayIsQuotedFromTheSysctl)
{
  Facts f = peer_facts(20, 20);
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "30000");
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_NE(all_reasons(p).find("30000 ms after close (net.ipv4.tcp_tw_reuse_delay)"), std::string::npos)
    << all_reasons(p);
  EXPECT_EQ(all_reasons(p).find("about 1 s"), std::string::npos) << all_reasons(p);
  set_unreadable(f, "net.ipv4.tcp_tw_reuse_delay", ReadStatus::absent, "no such key");
  EXPECT_NE(all_reasons(make_plan(f, Profile{}, config::builtin_policy()))
              .find("about 1 s after the peer's last timestamp"),
            std::string::npos);
}

TEST(PolicyPeer, NoPressureWordingSaysTimeWaitPressure)
{
  // 990 ports in use, 20 in TIME_WAIT: the census's pressure is 99%, TIME_WAIT pressure is 2%.
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 990, 20);
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::irrelevant);
  EXPECT_NE(all_reasons(p).find("no TIME_WAIT pressure"), std::string::npos) << all_reasons(p);
  EXPECT_EQ(all_reasons(p).find("no port pressure"), std::string::npos) << all_reasons(p);
}

TEST(PolicyPeer, UnknownCountIsAlwaysSaidAndLeadsWhenItDominates)
{
  Facts f = base_facts();
  add_inbound(f, 10);
  f.sockets.time_wait.unknown = 5000;
  Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::irrelevant);
  ASSERT_FALSE(p.reasons.empty());
  EXPECT_EQ(p.reasons[0].find("5000 of 5010 TIME_WAIT sockets could not be told"), 0u) << all_reasons(p);
  EXPECT_EQ(all_reasons(p).find("All 10 classified"), std::string::npos) << all_reasons(p);

  f.sockets.time_wait.unknown = 3;
  p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_NE(p.reasons[0].find("All 10 classified"), std::string::npos) << all_reasons(p);
  EXPECT_NE(p.reasons[0].find("3 unknown"), std::string::npos) << all_reasons(p);
}

TEST(PolicyPeer, UnreadableNatMeansCanaryFirstEverywhere)
{
  Facts f = peer_facts(20, 20);
  f.nat.nat_rules_present.reset();
  f.nat.conntrack_available = false;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_EQ(p.verdict, Verdict::helps);
  EXPECT_NE(all_reasons(p).find("NAT could not be read"), std::string::npos) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("--canary"), std::string::npos) << all_reasons(p);
  ASSERT_NE(p.advice_for("canary-first"), nullptr);
  EXPECT_NE(p.advice_for("canary-first")->text.find("NAT could not be read"), std::string::npos);
}

TEST(PolicyPeer, ReservedPortsAreCountedOnceByTheCensus)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.ip_local_reserved_ports", "33000-35999");
  f.sockets.usable_ports = 28232 - 3000;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  const Prerequisite* r = p.prerequisite("reserved_ports");
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r->detail.find("3000 of 28232 ports"), std::string::npos) << r->detail;
  EXPECT_EQ(r->status, PrereqStatus::warning);
}

} // namespace
} // namespace tw::test
