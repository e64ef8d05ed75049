// The verdict rules of issue 3 on in-memory facts, including the subtle kernel cases.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>

namespace tw::test {
namespace {

Plan plan_of(const Facts& f,
             const Policy& policy = config::builtin_policy(),
             const Profile& profile = Profile{})
{
  return make_plan(f, profile, policy);
}

// The stuck API client of the live test: 1000 ports, all in TIME_WAIT towards one server.
Facts stuck_client()
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  return f;
}

TEST(PolicyVerdict, NoSocketsAtAllIsIrrelevant)
{
  const Plan p = plan_of(base_facts());
  EXPECT_EQ(p.verdict, Verdict::irrelevant);
  EXPECT_TRUE(p.changes.empty());
  ASSERT_FALSE(p.reasons.empty());
  EXPECT_NE(p.reasons[0].find("No TIME_WAIT sockets"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, InboundOnlyTimeWaitIsIrrelevantAndSaysWhy)
{
  Facts f = base_facts();
  add_inbound(f, 5000);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::irrelevant);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(all_reasons(p).find("5000"), std::string::npos) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("does nothing for accepted connections"), std::string::npos);
  ASSERT_NE(p.finding("inbound-time-wait"), nullptr);
  EXPECT_EQ(p.finding("inbound-time-wait")->evidence.at("inbound"), 5000);
  EXPECT_NE(p.advice_for("inbound-only"), nullptr);
}

TEST(PolicyVerdict, OutboundSpreadOverManyDestinationsWithoutPressureIsIrrelevant)
{
  Facts f = base_facts();
  for (int i = 0; i < 200; ++i) {
    add_group(f,
              "198.18.1.1",
              "198.18.2." + std::to_string(i % 250),
              static_cast<std::uint16_t>(443 + i / 250),
              60,
              50);
  }
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::irrelevant) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(p.reasons[0].find("10000 sockets"), std::string::npos) << p.reasons[0];
  EXPECT_NE(p.reasons[0].find("50 of 28232"), std::string::npos) << p.reasons[0];
  EXPECT_NE(p.reasons[0].find("no TIME_WAIT pressure"), std::string::npos) << p.reasons[0];
  EXPECT_EQ(p.finding("port-pressure"), nullptr);
}

TEST(PolicyVerdict, StuckClientWithReuseOffHelps)
{
  const Plan p = plan_of(stuck_client());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(p.changes[0].current, "0");
  EXPECT_EQ(p.changes[0].target, "1");
  EXPECT_NE(p.reasons[0].find("1000 of 1000 usable ports (100%)"), std::string::npos) << p.reasons[0];
  EXPECT_NE(p.reasons[0].find("198.18.1.1 -> 198.18.1.2:8080"), std::string::npos) << p.reasons[0];
  EXPECT_GE(p.reasons.size(), 2u);
  EXPECT_LE(p.reasons.size(), 3u);
  ASSERT_NE(p.finding("port-pressure"), nullptr);
  EXPECT_EQ(p.finding("port-pressure")->evidence.at("time_wait"), 1000);
  ASSERT_NE(p.finding("ports-exhausted"), nullptr);
  EXPECT_EQ(p.finding("ports-exhausted")->severity, Severity::error);
  ASSERT_NE(p.prerequisite("policy"), nullptr);
  EXPECT_EQ(p.prerequisite("policy")->status, PrereqStatus::ok);
}

TEST(PolicyVerdict, ReuseTwoWithOnlyLoopbackChurnUnderPressureIsAlreadyEnabled)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "127.0.0.1", "127.0.0.1", 6379, 20000, 19000, true);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::already_enabled) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(all_reasons(p).find("every pressured group is loopback"), std::string::npos) << all_reasons(p);
  EXPECT_EQ(p.finding("tw-reuse-loopback-only"), nullptr);
}

TEST(PolicyVerdict, ReuseTwoWithLoopbackChurnWithoutPressureIsIrrelevant)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "127.0.0.1", "127.0.0.1", 6379, 300, 250, true);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::irrelevant) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
}

TEST(PolicyVerdict, ReuseTwoWithPressuredNonLoopbackGroupHelps)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "198.18.1.1", "198.18.1.2", 5432, 27000, 26000); // e.g. a container over veth
  add_group(f, "127.0.0.1", "127.0.0.1", 6379, 20000, 19000, true);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].current, "2");
  EXPECT_EQ(p.changes[0].target, "1");
  EXPECT_NE(p.changes[0].reason.find("not loopback"), std::string::npos) << p.changes[0].reason;
  EXPECT_NE(all_reasons(p).find("reuses only loopback traffic"), std::string::npos) << all_reasons(p);
  ASSERT_NE(p.finding("tw-reuse-loopback-only"), nullptr);
  EXPECT_EQ(p.finding("tw-reuse-loopback-only")->evidence.at("groups_uncovered"), 1);
}

TEST(PolicyVerdict, HostsOwnNonLoopbackAddressIsNotCoveredByTwo)
{
  // Connecting to one of the host's own addresses that is not 127/8 is not "loopback" for
  // tcp_twsk_unique(): the census marks such a group loopback=false and the engine must agree.
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "10.0.0.5", "10.0.0.5", 8080, 20000, 20000, false);
  EXPECT_EQ(plan_of(f).verdict, Verdict::helps);
}

TEST(PolicyVerdict, ReuseOneCoveringThePressureIsAlreadyEnabled)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "1");
  f.counters.values["TcpExt.TWRecycled"] = 1234;
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::already_enabled) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(all_reasons(p).find("TWRecycled = 1234"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, TimestampsOffWithFixesAllowedHelpsWithTheFixFirst)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 2u);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_timestamps");
  EXPECT_EQ(p.changes[0].current, "0");
  EXPECT_EQ(p.changes[0].target, "1");
  EXPECT_EQ(p.changes[1].key, "net.ipv4.tcp_tw_reuse");
  ASSERT_NE(p.prerequisite("tcp_timestamps"), nullptr);
  EXPECT_EQ(p.prerequisite("tcp_timestamps")->status, PrereqStatus::error);
  ASSERT_NE(p.finding("timestamps-off"), nullptr);
}

TEST(PolicyVerdict, TimestampsOffWithoutFixesIsBlocked)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  Policy policy = config::builtin_policy();
  policy.id = "strict";
  policy.propose_prerequisite_fixes.value = false;
  const Plan p = plan_of(f, policy);
  EXPECT_EQ(p.verdict, Verdict::blocked) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(all_reasons(p).find("Blocked: net.ipv4.tcp_timestamps = 0"), std::string::npos) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("propose_prerequisite_fixes: false"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, TimestampsOffWithReuseAlreadyOnNeedsOnlyTheFix)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "1");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_timestamps");
  EXPECT_NE(all_reasons(p).find("no-op"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, PolicyThatForbidsTheKeyBlocks)
{
  Policy policy = config::builtin_policy();
  policy.id = "frozen";
  policy.guardrails.clear();
  const Plan p = plan_of(stuck_client(), policy);
  EXPECT_EQ(p.verdict, Verdict::blocked);
  EXPECT_TRUE(p.changes.empty());
  ASSERT_NE(p.prerequisite("policy"), nullptr);
  EXPECT_EQ(p.prerequisite("policy")->status, PrereqStatus::error);
  EXPECT_NE(p.prerequisite("policy")->detail.find("frozen"), std::string::npos);
}

TEST(PolicyVerdict, IPv6PressuredGroupHelps)
{
  Facts f = base_facts();
  add_group(f, "fd00:198:18:1::1", "fd00:198:18:1::2", 443, 28000, 27000, false, AF_INET6);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps);
  EXPECT_NE(p.reasons[0].find("fd00:198:18:1::1 -> [fd00:198:18:1::2]:443"), std::string::npos)
    << p.reasons[0];
}

TEST(PolicyVerdict, IPv6LoopbackUnderTwoIsAlreadyEnabled)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "::1", "::1", 8080, 28000, 27000, true, AF_INET6);
  EXPECT_EQ(plan_of(f).verdict, Verdict::already_enabled);
}

TEST(PolicyVerdict, CensusUnavailableIsInsufficientEvidenceAndSaysWhy)
{
  Facts f = stuck_client();
  f.sockets.available = false;
  f.sockets.error = "NETLINK_SOCK_DIAG socket: Permission denied";
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::insufficient_evidence);
  ASSERT_EQ(p.missing.size(), 1u);
  EXPECT_NE(p.missing[0].find("socket census unavailable"), std::string::npos);
  EXPECT_NE(p.reasons[0].find("Permission denied"), std::string::npos) << p.reasons[0];
  EXPECT_TRUE(p.changes.empty());
}

TEST(PolicyVerdict, DeniedReuseKeyUnderPressureIsInsufficientEvidence)
{
  Facts f = stuck_client();
  set_unreadable(f, "net.ipv4.tcp_tw_reuse", ReadStatus::denied, "Permission denied");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::insufficient_evidence);
  EXPECT_NE(p.reasons[0].find("net.ipv4.tcp_tw_reuse: denied (Permission denied)"), std::string::npos)
    << p.reasons[0];
}

TEST(PolicyVerdict, DeniedReuseKeyWithoutPressureIsStillIrrelevant)
{
  Facts f = base_facts();
  add_inbound(f, 100);
  set_unreadable(f, "net.ipv4.tcp_tw_reuse", ReadStatus::denied, "Permission denied");
  EXPECT_EQ(plan_of(f).verdict, Verdict::irrelevant);
}

TEST(PolicyVerdict, UnreadableTimestampsUnderPressureIsInsufficientEvidence)
{
  Facts f = stuck_client();
  set_unreadable(f, "net.ipv4.tcp_timestamps", ReadStatus::error, "Input/output error");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::insufficient_evidence);
  EXPECT_NE(p.reasons[0].find("net.ipv4.tcp_timestamps: error"), std::string::npos) << p.reasons[0];
}

TEST(PolicyVerdict, UnreadablePortRangeIsInsufficientEvidence)
{
  Facts f = base_facts();
  set_unreadable(f, "net.ipv4.ip_local_port_range", ReadStatus::denied, "Permission denied");
  f.sockets.port_range.reset();
  f.sockets.usable_ports = 0;
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::insufficient_evidence);
  EXPECT_NE(p.reasons[0].find("ip_local_port_range"), std::string::npos) << p.reasons[0];
}

TEST(PolicyVerdict, PortsHeldByLiveConnectionsAreNotHelpedByReuse)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 5432, 990, 20);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::irrelevant) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("970 live connections"), std::string::npos) << all_reasons(p);
  EXPECT_NE(p.finding("ports-exhausted"), nullptr);
}

TEST(PolicyVerdict, ExhaustedGroupWithAMeaningfulTimeWaitShareHelps)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 5432, 990, 200); // 20% TIME_WAIT, 99% in use
  EXPECT_EQ(plan_of(f).verdict, Verdict::helps);
}

TEST(PolicyVerdict, ProfileThresholdOverridesThePolicy)
{
  Facts f = base_facts();
  add_group(f, "198.18.1.1", "198.18.1.2", 443, 12000, 11300); // 40% of 28232
  EXPECT_EQ(plan_of(f).verdict, Verdict::irrelevant);
  Profile client;
  client.id = "api-client";
  client.time_wait_pressure = Setting<double>{ "time_wait_pressure", 0.3, "", "" };
  const Plan p = plan_of(f, config::builtin_policy(), client);
  EXPECT_EQ(p.verdict, Verdict::helps);
  EXPECT_EQ(p.profile_id, "api-client");
  EXPECT_NE(p.reasons[0].find("threshold 30%"), std::string::npos) << p.reasons[0];
}

TEST(PolicyVerdict, NeverProposesRecycleTimestampsOffOrNarrowing)
{
  std::vector<Facts> scenarios = { stuck_client(), base_facts() };
  Facts ts_off = stuck_client();
  set_sysctl(ts_off, "net.ipv4.tcp_timestamps", "0");
  scenarios.push_back(ts_off);
  Facts recycle = stuck_client();
  set_sysctl(recycle, "net.ipv4.tcp_tw_recycle", "1");
  scenarios.push_back(recycle);
  int changes_seen = 0;
  for (const auto& f : scenarios) {
    for (const auto& c : plan_of(f).changes) {
      ++changes_seen;
      EXPECT_NE(c.key, "net.ipv4.tcp_tw_recycle");
      EXPECT_NE(c.key, "net.ipv4.ip_local_port_range");
      if (c.key == "net.ipv4.tcp_timestamps") {
        EXPECT_NE(c.target, "0");
      }
    }
  }
  EXPECT_GE(changes_seen, 4);
}

// TIME_WAIT lasts 60 s: a tcp_tw_reuse_delay of 60000 ms makes a port reusable only when its
// socket expires anyway, so tcp_tw_reuse=1 alone would change nothing.
TEST(PolicyVerdict, DelayAsLongAsTimeWaitIsFixedFirstWhenThePolicyAllows)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "60000");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 2u) << all_reasons(p);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_tw_reuse_delay");
  EXPECT_EQ(p.changes[0].current, "60000");
  EXPECT_EQ(p.changes[0].target, "1000");
  EXPECT_EQ(p.changes[1].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(p.changes[1].target, "1");
  ASSERT_NE(p.prerequisite("tw_reuse_delay"), nullptr);
  EXPECT_EQ(p.prerequisite("tw_reuse_delay")->status, PrereqStatus::error);
  EXPECT_NE(p.prerequisite("tw_reuse_delay")->detail.find("sets it to 1000"), std::string::npos)
    << p.prerequisite("tw_reuse_delay")->detail;
  EXPECT_NE(all_reasons(p).find("60000 ms"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, DelayAsLongAsTimeWaitBlocksWithoutPrerequisiteFixes)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "60000");
  Policy policy = config::builtin_policy();
  policy.id = "strict";
  policy.propose_prerequisite_fixes.value = false;
  const Plan p = plan_of(f, policy);
  EXPECT_EQ(p.verdict, Verdict::blocked) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(all_reasons(p).find("Blocked: net.ipv4.tcp_tw_reuse_delay = 60000"), std::string::npos)
    << all_reasons(p);
  ASSERT_NE(p.prerequisite("tw_reuse_delay"), nullptr);
  EXPECT_EQ(p.prerequisite("tw_reuse_delay")->status, PrereqStatus::error);
}

TEST(PolicyVerdict, DelayAsLongAsTimeWaitBlocksWhenThePolicyHasNoGuardrailForIt)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "60000");
  Policy policy = config::builtin_policy();
  policy.id = "no-delay";
  std::erase_if(policy.guardrails, [](const Guardrail& g) { return g.key == "net.ipv4.tcp_tw_reuse_delay"; });
  const Plan p = plan_of(f, policy);
  EXPECT_EQ(p.verdict, Verdict::blocked) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(all_reasons(p).find("does not allow"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, DelayAsLongAsTimeWaitWithReuseAlreadyOnNeedsOnlyTheDelay)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "1");
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "60000");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_tw_reuse_delay");
  EXPECT_EQ(p.changes[0].target, "1000");
}

// A delay that leaves part of the 60 s reusable scales the relief the plan states.
TEST(PolicyVerdict, SlowDelayScalesTheStatedRelief)
{
  Facts f = stuck_client();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "45000");
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  ASSERT_EQ(p.changes.size(), 1u);
  const Change& c = p.changes[0];
  EXPECT_EQ(c.key, "net.ipv4.tcp_tw_reuse");
  // 15 s of each socket's 60 s is reusable: about a quarter of the 1000 TIME_WAIT ports at a time.
  EXPECT_NE(c.reason.find("25%"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("about 250 of the 1000 TIME_WAIT ports there"), std::string::npos) << c.reason;
  ASSERT_NE(p.finding("port-pressure"), nullptr);
  EXPECT_DOUBLE_EQ(p.finding("port-pressure")->evidence.at("reusable_share"), 0.25);
  EXPECT_DOUBLE_EQ(p.finding("port-pressure")->evidence.at("reusable_time_wait"), 250);

  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "1000");
  const Plan q = plan_of(f);
  ASSERT_EQ(q.changes.size(), 1u);
  EXPECT_NE(q.changes[0].reason.find("about 983 of the 1000 TIME_WAIT ports there"), std::string::npos)
    << q.changes[0].reason;
  EXPECT_NEAR(q.finding("port-pressure")->evidence.at("reusable_share"), 59.0 / 60.0, 1e-12);
}

// No counter records EADDRNOTAVAIL: a full group is an inference from the counts, and says so.
TEST(PolicyVerdict, ExhaustionIsWordedAsAnInferenceFromTheCounts)
{
  const Plan p = plan_of(stuck_client()); // 1000 of 1000 ports in use
  EXPECT_EQ(all_reasons(p).find("connect() there fails with"), std::string::npos) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("connect() there is likely failing with EADDRNOTAVAIL (inferred from the "
                                "counts; no counter records it)"),
            std::string::npos)
    << all_reasons(p);

  Facts near = base_facts();
  set_port_range(near, 40000, 40999);
  add_group(near, "198.18.1.1", "198.18.1.2", 8080, 970, 900);
  const Plan q = plan_of(near);
  EXPECT_EQ(all_reasons(q).find("is about to fail"), std::string::npos) << all_reasons(q);
  EXPECT_NE(all_reasons(q).find("30 left), connect() there would fail with EADDRNOTAVAIL once they are "
                                "taken (inferred from the counts)"),
            std::string::npos)
    << all_reasons(q);
}

// A group the current tcp_tw_reuse already covers does not run out while its TIME_WAIT is
// reusable: no EADDRNOTAVAIL inference there (the case: loopback under value 2).
TEST(PolicyVerdict, NoExhaustionInferenceWhereTheCurrentReuseCoversTheGroup)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "127.0.0.1", "127.0.0.1", 8080, 1000, 1000, true);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::already_enabled) << all_reasons(p);
  EXPECT_EQ(all_reasons(p).find("EADDRNOTAVAIL"), std::string::npos) << all_reasons(p);

  // The same group with reuse off is not covered: the inference stands.
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "0");
  EXPECT_NE(all_reasons(plan_of(f)).find("EADDRNOTAVAIL"), std::string::npos);
}

// The case: AF_INET6 sockets to ::ffff:127.0.0.1, grouped as 127.0.0.1. Value 2 covers them
// (tcp_twsk_unique() treats ::ffff:127.x as loopback), and the reasons say they are AF_INET6.
TEST(PolicyVerdict, V4MappedLoopbackGroupSaysItsSocketsAreAfInet6)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_group(f, "127.0.0.1", "127.0.0.1", 8080, 1000, 1000, true);
  f.sockets.groups.back().v4_mapped = 1000;
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::already_enabled) << all_reasons(p);
  EXPECT_NE(p.reasons[0].find("127.0.0.1 -> 127.0.0.1:8080 (AF_INET6 sockets, v4-mapped)"), std::string::npos)
    << p.reasons[0];
  EXPECT_EQ(all_reasons(p).find("EADDRNOTAVAIL"), std::string::npos) << all_reasons(p);
}

TEST(PolicyVerdict, SameInputSamePlan)
{
  const Facts f = stuck_client();
  EXPECT_EQ(plan_of(f), plan_of(f));
}

} // namespace
} // namespace tw::test
