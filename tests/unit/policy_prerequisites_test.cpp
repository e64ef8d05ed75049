// Every prerequisite outcome (ok / warn / fail) with the numbers in its detail.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tw::test {
namespace {

// A copy, so it may outlive a temporary Plan.
Prerequisite prereq(const Plan& p, const std::string& id)
{
  const Prerequisite* found = p.prerequisite(id);
  if (found == nullptr) {
    throw std::runtime_error("no prerequisite " + id);
  }
  return *found;
}

Plan plan_of(const Facts& f, const Policy& policy = config::builtin_policy())
{
  return make_plan(f, Profile{}, policy);
}

TEST(PolicyPrerequisites, StableOrder)
{
  const Plan p = plan_of(base_facts());
  std::vector<std::string> ids;
  for (const auto& x : p.prerequisites) {
    ids.push_back(x.id);
  }
  EXPECT_EQ(
    ids,
    (std::vector<std::string>{ "tcp_timestamps", "nat", "tw_reuse_delay", "port_range", "reserved_ports" }));
}

TEST(PolicyPrerequisites, TimestampsOkWithMeasuredPeerAgreement)
{
  Facts f = base_facts();
  set_timestamp_share(f, 40, 40);
  const auto& p = prereq(plan_of(f), "tcp_timestamps");
  EXPECT_EQ(p.status, PrereqStatus::ok);
  EXPECT_NE(p.detail.find("40 of 40 live outbound connections negotiated timestamps (100%)"),
            std::string::npos)
    << p.detail;
}

TEST(PolicyPrerequisites, TimestampsOkWithNothingToMeasure)
{
  const auto& p = prereq(plan_of(base_facts()), "tcp_timestamps");
  EXPECT_EQ(p.status, PrereqStatus::ok);
  EXPECT_NE(p.detail.find("no live outbound connection"), std::string::npos) << p.detail;
}

TEST(PolicyPrerequisites, TimestampsWarnWhenFewPeersAgree)
{
  Facts f = base_facts();
  set_timestamp_share(f, 40, 12);
  const Plan plan = plan_of(f);
  const auto& p = prereq(plan, "tcp_timestamps");
  EXPECT_EQ(p.status, PrereqStatus::warning);
  EXPECT_NE(p.detail.find("12 of 40"), std::string::npos) << p.detail;
  EXPECT_NE(p.detail.find("30%"), std::string::npos) << p.detail;
  ASSERT_NE(plan.finding("peer-timestamps-low"), nullptr);
  EXPECT_DOUBLE_EQ(plan.finding("peer-timestamps-low")->evidence.at("share"), 0.3);
}

TEST(PolicyPrerequisites, TimestampsShareOverTooFewConnectionsIsNotJudged)
{
  Facts f = base_facts();
  set_timestamp_share(f, 3, 0);
  const Plan plan = plan_of(f);
  EXPECT_EQ(prereq(plan, "tcp_timestamps").status, PrereqStatus::ok);
  EXPECT_NE(prereq(plan, "tcp_timestamps").detail.find("too few to judge"), std::string::npos);
  EXPECT_EQ(plan.finding("peer-timestamps-low"), nullptr);
}

TEST(PolicyPrerequisites, TimestampsOffFails)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  const auto& p = prereq(plan_of(f), "tcp_timestamps");
  EXPECT_EQ(p.status, PrereqStatus::error);
  EXPECT_NE(p.detail.find("no-op"), std::string::npos) << p.detail;
}

TEST(PolicyPrerequisites, TimestampsTwoIsFine)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "2");
  EXPECT_EQ(prereq(plan_of(f), "tcp_timestamps").status, PrereqStatus::ok);
}

TEST(PolicyPrerequisites, TimestampsUnreadableWarns)
{
  Facts f = base_facts();
  set_unreadable(f, "net.ipv4.tcp_timestamps", ReadStatus::denied, "Permission denied");
  const auto& p = prereq(plan_of(f), "tcp_timestamps");
  EXPECT_EQ(p.status, PrereqStatus::warning);
  EXPECT_NE(p.detail.find("denied (Permission denied)"), std::string::npos) << p.detail;
}

TEST(PolicyPrerequisites, NoNatIsOkWithTheCounts)
{
  const auto& p = prereq(plan_of(base_facts()), "nat");
  EXPECT_EQ(p.status, PrereqStatus::ok);
  EXPECT_NE(p.detail.find("0 SNAT entries of 12 conntrack entries"), std::string::npos) << p.detail;
}

TEST(PolicyPrerequisites, SnatRuleWarnsWithEvidenceAndCanary)
{
  Facts f = base_facts();
  f.nat.nat_rules_present = true;
  f.nat.nat_rules = { "nft ip twa nat postrouting: snat" };
  f.nat.snat_entries = 7;
  const Plan plan = plan_of(f);
  const auto& p = prereq(plan, "nat");
  EXPECT_EQ(p.status, PrereqStatus::warning);
  EXPECT_NE(p.detail.find("nft ip twa nat postrouting: snat"), std::string::npos) << p.detail;
  EXPECT_NE(p.detail.find("7 SNAT conntrack entries of 12 scanned"), std::string::npos) << p.detail;
  EXPECT_NE(p.detail.find("--canary"), std::string::npos) << p.detail;
  EXPECT_EQ(p.detail.find("random-fully"), std::string::npos);
  ASSERT_NE(plan.finding("source-nat"), nullptr);
  EXPECT_EQ(plan.finding("source-nat")->severity, Severity::warning);
}

TEST(PolicyPrerequisites, RandomFullyIsWorse)
{
  Facts f = base_facts();
  f.nat.nat_rules_present = true;
  f.nat.nat_rules = { "nft ip nat postrouting: masquerade random-fully" };
  f.nat.random_fully = true;
  const Plan plan = plan_of(f);
  EXPECT_EQ(prereq(plan, "nat").status, PrereqStatus::warning);
  EXPECT_NE(prereq(plan, "nat").detail.find("random-fully port mapping"), std::string::npos);
  EXPECT_EQ(plan.finding("source-nat")->severity, Severity::error);
}

TEST(PolicyPrerequisites, SnatConntrackEntriesAloneWarn)
{
  Facts f = base_facts();
  f.nat.snat_entries = 3;
  EXPECT_EQ(prereq(plan_of(f), "nat").status, PrereqStatus::warning);
}

TEST(PolicyPrerequisites, UnreadableNatWarns)
{
  Facts f = base_facts();
  f.nat.nat_rules_present.reset();
  f.nat.nat_rules_note = "NETLINK_NETFILTER: Operation not permitted";
  f.nat.conntrack_available = false;
  f.nat.conntrack_note = "no nf_conntrack";
  const auto& p = prereq(plan_of(f), "nat");
  EXPECT_EQ(p.status, PrereqStatus::warning);
  EXPECT_NE(p.detail.find("Operation not permitted"), std::string::npos) << p.detail;
}

TEST(PolicyPrerequisites, NatWarningDoesNotBlockAHelpingPlan)
{
  Facts f = base_facts();
  add_group(f, "198.18.1.1", "198.18.1.2", 80, 28232, 28000);
  f.nat.nat_rules_present = true;
  f.nat.nat_rules = { "nft ip nat postrouting: snat" };
  const Plan plan = plan_of(f);
  EXPECT_EQ(plan.verdict, Verdict::helps);
  EXPECT_NE(plan.advice_for("canary-first"), nullptr);
  EXPECT_NE(plan.reasons.back().find("--canary"), std::string::npos) << plan.reasons.back();
}

TEST(PolicyPrerequisites, ReuseDelayPresentAbsentSlowAndDenied)
{
  Facts f = base_facts();
  EXPECT_EQ(prereq(plan_of(f), "tw_reuse_delay").status, PrereqStatus::ok);
  EXPECT_NE(prereq(plan_of(f), "tw_reuse_delay").detail.find("= 1000 ms"), std::string::npos);

  set_unreadable(f, "net.ipv4.tcp_tw_reuse_delay", ReadStatus::absent, "no such key");
  EXPECT_EQ(prereq(plan_of(f), "tw_reuse_delay").status, PrereqStatus::ok);
  EXPECT_NE(prereq(plan_of(f), "tw_reuse_delay").detail.find("before 6.14"), std::string::npos);

  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "45000");
  EXPECT_EQ(prereq(plan_of(f), "tw_reuse_delay").status, PrereqStatus::warning);
  EXPECT_NE(prereq(plan_of(f), "tw_reuse_delay").detail.find("only 15 s is reusable"), std::string::npos)
    << prereq(plan_of(f), "tw_reuse_delay").detail;

  set_unreadable(f, "net.ipv4.tcp_tw_reuse_delay", ReadStatus::denied, "Permission denied");
  EXPECT_EQ(prereq(plan_of(f), "tw_reuse_delay").status, PrereqStatus::warning);
}

TEST(PolicyPrerequisites, ReuseDelayAsLongAsTimeWaitFails)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "60000");
  // Without pressure the plan proposes nothing: the detail says only what a plan would do.
  const Prerequisite quiet = prereq(plan_of(f), "tw_reuse_delay");
  EXPECT_EQ(quiet.status, PrereqStatus::error);
  EXPECT_NE(quiet.detail.find("lets a plan set it to 1000"), std::string::npos) << quiet.detail;

  add_group(f, "198.18.1.1", "198.18.1.2", 80, 28232, 28000);
  const Prerequisite p = prereq(plan_of(f), "tw_reuse_delay");
  EXPECT_EQ(p.status, PrereqStatus::error);
  EXPECT_NE(p.detail.find("no part of the 60 s TIME_WAIT is reusable"), std::string::npos) << p.detail;
  EXPECT_NE(p.detail.find("the plan sets it to 1000 first"), std::string::npos) << p.detail;

  Policy strict = config::builtin_policy();
  strict.id = "strict";
  strict.propose_prerequisite_fixes.value = false;
  const Prerequisite q = prereq(plan_of(f, strict), "tw_reuse_delay");
  EXPECT_EQ(q.status, PrereqStatus::error);
  EXPECT_NE(q.detail.find("policy strict"), std::string::npos) << q.detail;
}

TEST(PolicyPrerequisites, PortRangeOkNarrowLowAndInverted)
{
  Facts f = base_facts();
  EXPECT_EQ(prereq(plan_of(f), "port_range").status, PrereqStatus::ok);
  EXPECT_NE(prereq(plan_of(f), "port_range").detail.find("28232 ports"), std::string::npos);

  set_port_range(f, 40000, 40999);
  Plan p = plan_of(f);
  EXPECT_EQ(prereq(p, "port_range").status, PrereqStatus::warning);
  EXPECT_NE(prereq(p, "port_range").detail.find("1000 ports"), std::string::npos);
  ASSERT_NE(p.finding("port-range-narrow"), nullptr);
  EXPECT_EQ(p.finding("port-range-narrow")->evidence.at("ports"), 1000);

  set_port_range(f, 600, 60999);
  EXPECT_EQ(prereq(plan_of(f), "port_range").status, PrereqStatus::warning);
  EXPECT_NE(prereq(plan_of(f), "port_range").detail.find("below 1024"), std::string::npos);

  set_sysctl(f, "net.ipv4.ip_local_port_range", "50000 40000");
  f.sockets.port_range = PortRange{ 50000, 40000 };
  add_group(f, "198.18.1.1", "198.18.1.2", 80, 900, 900);
  f.sockets.groups.back().usable = 1000;
  p = plan_of(f);
  EXPECT_EQ(prereq(p, "port_range").status, PrereqStatus::error);
  EXPECT_EQ(p.verdict, Verdict::blocked);
}

TEST(PolicyPrerequisites, ReservedPortsNoneFewAndMany)
{
  Facts f = base_facts();
  EXPECT_EQ(prereq(plan_of(f), "reserved_ports").status, PrereqStatus::ok);

  set_sysctl(f, "net.ipv4.ip_local_reserved_ports", "40000-40099");
  f.sockets.usable_ports = 28232 - 100;
  Plan p = plan_of(f);
  EXPECT_EQ(prereq(p, "reserved_ports").status, PrereqStatus::ok);
  EXPECT_NE(prereq(p, "reserved_ports").detail.find("100 of 28232"), std::string::npos)
    << prereq(p, "reserved_ports").detail;

  set_sysctl(f, "net.ipv4.ip_local_reserved_ports", "30000-45000,45000-50000,1000");
  f.sockets.usable_ports = 28232 - (50000 - 32768 + 1);
  p = plan_of(f);
  EXPECT_EQ(prereq(p, "reserved_ports").status, PrereqStatus::warning);
  EXPECT_NE(prereq(p, "reserved_ports").detail.find("17233 of 28232"), std::string::npos)
    << prereq(p, "reserved_ports").detail;
  ASSERT_NE(p.finding("reserved-ports-in-range"), nullptr);

  set_unreadable(f, "net.ipv4.ip_local_reserved_ports", ReadStatus::denied, "Permission denied");
  EXPECT_EQ(prereq(plan_of(f), "reserved_ports").status, PrereqStatus::warning);
}

} // namespace
} // namespace tw::test
