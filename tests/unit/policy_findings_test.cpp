// Findings and advice: stable ids, the numbers as evidence, and advice tied to that evidence.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tw::test {
namespace {

Plan plan_of(const Facts& f, const Profile& profile = Profile{})
{
  return make_plan(f, profile, config::builtin_policy());
}

TEST(PolicyFindings, EveryFindingHasIdEvidenceAndRationale)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  add_inbound(f, 10);
  f.sockets.time_wait.unknown = 5;
  f.counters.values["TcpExt.TCPTimeWaitOverflow"] = 17;
  f.counters.values["sockstat.tw"] = 5000;
  f.sockets.states[static_cast<std::size_t>(TcpState::fin_wait2)] = 40;
  f.counters.values["TcpExt.TWRecycled"] = 9;
  set_sysctl(f, "net.ipv4.tcp_tw_recycle", "0");
  f.nat.nat_rules_present = true;
  f.nat.nat_rules = { "nft ip nat postrouting: masquerade" };
  const Plan p = plan_of(f);
  std::set<std::string> ids;
  for (const auto& x : p.findings) {
    EXPECT_FALSE(x.id.empty());
    EXPECT_FALSE(x.summary.empty()) << x.id;
    EXPECT_FALSE(x.rationale.empty()) << x.id;
    EXPECT_FALSE(x.evidence.empty()) << x.id;
    EXPECT_TRUE(ids.insert(x.id).second) << "duplicate " << x.id;
  }
  for (const char* id : { "port-pressure",
                          "ports-exhausted",
                          "source-nat",
                          "inbound-time-wait",
                          "time-wait-role-unknown",
                          "time-wait-overflow",
                          "fin-wait2-sockets",
                          "reuse-happening",
                          "tw-recycle-present",
                          "port-range-narrow" }) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
  for (const auto& x : p.advice) {
    EXPECT_FALSE(x.text.empty()) << x.id;
    EXPECT_FALSE(x.rationale.empty()) << x.id;
    EXPECT_FALSE(x.evidence.empty()) << x.id;
  }
}

TEST(PolicyFindings, TimeWaitOverflowCarriesTheCounterAndLimit)
{
  Facts f = base_facts();
  f.counters.values["TcpExt.TCPTimeWaitOverflow"] = 4242;
  const Plan p = plan_of(f);
  const Finding* x = p.finding("time-wait-overflow");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->evidence.at("TCPTimeWaitOverflow"), 4242);
  EXPECT_EQ(x->evidence.at("tcp_max_tw_buckets"), 262144);
  EXPECT_NE(x->summary.find("4242"), std::string::npos);
}

TEST(PolicyFindings, TimeWaitOverflowNamesWhoClosesTowardsTheBusiestDestination)
{
  Facts f = stuck_client_behind_nat();
  f.counters.values["TcpExt.TCPTimeWaitOverflow"] = 10;
  f.rates->per_second.erase("TcpExt.TCPTimeWaitOverflow");
  f.sockets.processes.walked = true;
  ProcessConnections p;
  p.pid = 4242;
  p.comm = "api";
  p.connections.established = 12;
  p.destinations.push_back({ "198.18.1.2:8080", false, p.connections });
  f.sockets.processes.processes.push_back(p);
  const Plan before = plan_of(f);
  const Finding* old = before.finding("time-wait-overflow");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->evidence.count("top_pid"), 0U) << "no overflow in the window: nobody to name";
  EXPECT_NE(old->summary.find("none during the --sample window"), std::string::npos) << old->summary;
  f.rates->delta["TcpExt.TCPTimeWaitOverflow"] = 10;
  f.rates->per_second["TcpExt.TCPTimeWaitOverflow"] = 5.0;
  const Plan plan = plan_of(f);
  const Finding* x = plan.finding("time-wait-overflow");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->evidence.at("top_pid"), 4242);
  EXPECT_NE(x->summary.find("; closing connections: pid 4242 (api)"), std::string::npos) << x->summary;
}

TEST(PolicyFindings, NoOverflowNoFinding)
{
  EXPECT_EQ(plan_of(base_facts()).finding("time-wait-overflow"), nullptr);
}

TEST(PolicyFindings, FinWait2IsCountedFromTheSameDumpNotFromSockstat)
{
  Facts f = base_facts();
  add_inbound(f, 1000);
  f.counters.values["sockstat.tw"] = 1600; // read at another moment: alone it proves nothing
  EXPECT_EQ(plan_of(f).finding("fin-wait2-sockets"), nullptr);
  f.sockets.states[static_cast<std::size_t>(TcpState::fin_wait2)] = 250;
  const Plan p = plan_of(f);
  const Finding* x = p.finding("fin-wait2-sockets");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->evidence.at("fin_wait2"), 250);
  EXPECT_EQ(x->evidence.at("time_wait"), 1000);
  EXPECT_EQ(x->evidence.at("sockstat_tw"), 1600); // kept as a note
  EXPECT_NE(x->summary.find("250 sockets in FIN_WAIT2"), std::string::npos) << x->summary;
}

TEST(PolicyFindings, RatesAreUsedWhenSampled)
{
  Facts f = base_facts();
  add_group(f, "198.18.1.1", "198.18.1.2", 80, 100, 100);
  f.counters.values["TcpExt.TWRecycled"] = 50;
  CounterRates rates;
  rates.interval_seconds = 5;
  rates.per_second = { { "TcpExt.TWRecycled", 10.0 }, { "Tcp.ActiveOpens", 250.0 } };
  f.rates = rates;
  const Plan p = plan_of(f);
  ASSERT_NE(p.finding("reuse-happening"), nullptr);
  EXPECT_EQ(p.finding("reuse-happening")->evidence.at("TWRecycled_per_second"), 10.0);
  EXPECT_NE(p.finding("reuse-happening")->summary.find("is taking over TIME_WAIT ports now"),
            std::string::npos)
    << p.finding("reuse-happening")->summary;
  ASSERT_NE(p.advice_for("connection-rate-limit"), nullptr);
  EXPECT_NE(p.advice_for("connection-rate-limit")->text.find("opens 250 connections/s now"),
            std::string::npos)
    << p.advice_for("connection-rate-limit")->text;
}

TEST(PolicyAdvice, ConnectionRateArithmeticFromTheRealRange)
{
  Facts f = base_facts();
  add_group(f, "198.18.1.1", "198.18.1.2", 80, 100, 100);
  const Plan p = plan_of(f);
  const Advice* x = p.advice_for("connection-rate-limit");
  ASSERT_NE(x, nullptr);
  EXPECT_NE(x->text.find("28232 usable ports / 60 s = 470 new connections/s"), std::string::npos) << x->text;

  Facts narrow = base_facts();
  set_port_range(narrow, 40000, 40999);
  set_sysctl(narrow, "net.ipv4.ip_local_reserved_ports", "40000-40099");
  narrow.sockets.usable_ports = 900;
  add_group(narrow, "198.18.1.1", "198.18.1.2", 80, 100, 100);
  const Plan q = plan_of(narrow);
  const Advice* y = q.advice_for("connection-rate-limit");
  ASSERT_NE(y, nullptr);
  EXPECT_NE(y->text.find("900 usable ports / 60 s = 15 new connections/s"), std::string::npos) << y->text;
  EXPECT_DOUBLE_EQ(y->evidence.at("connections_per_second"), 15.0);
}

TEST(PolicyAdvice, PressureBringsPoolingAndMoreDestinations)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const Plan p = plan_of(f);
  ASSERT_NE(p.advice_for("connection-reuse"), nullptr);
  EXPECT_NE(p.advice_for("connection-reuse")->text.find("198.18.1.2:8080"), std::string::npos);
  EXPECT_NE(p.advice_for("more-destinations"), nullptr);
  EXPECT_NE(p.advice_for("widen-port-range"), nullptr);
  EXPECT_EQ(p.advice_for("inbound-only"), nullptr);
}

// One source address towards the destination is what connect() alone gives: nothing suggests the
// client bind()s, so no IP_BIND_ADDRESS_NO_PORT advice.
TEST(PolicyAdvice, NoBindAdviceWithoutEvidenceOfBind)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  // Another source address, but towards another destination: routing can explain that.
  add_group(f, "198.18.3.1", "198.18.3.2", 8080, 10, 10);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps);
  EXPECT_EQ(p.advice_for("bind-address-no-port"), nullptr);
}

// Several source addresses towards one destination: the client chooses its source, i.e. bind()s.
TEST(PolicyAdvice, SeveralSourceAddressesTowardsOneDestinationBringTheBindAdvice)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  add_group(f, "198.18.1.3", "198.18.1.2", 8080, 600, 600);
  add_group(f, "198.18.1.4", "198.18.1.2", 8080, 200, 200);
  const Plan p = plan_of(f);
  const Advice* a = p.advice_for("bind-address-no-port");
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->text.find("3 source addresses"), std::string::npos) << a->text;
  EXPECT_NE(a->text.find("198.18.1.2:8080"), std::string::npos) << a->text;
  EXPECT_NE(a->text.find("set IP_BIND_ADDRESS_NO_PORT before bind() so the port is chosen at connect(), "
                         "where tcp_tw_reuse applies"),
            std::string::npos)
    << a->text;
  EXPECT_NE(a->text.find("never reuses TIME_WAIT and fails with EADDRINUSE"), std::string::npos) << a->text;
  EXPECT_EQ(a->evidence.at("local_addresses"), 3);
}

TEST(PolicyAdvice, NoOutboundNoClientAdvice)
{
  Facts f = base_facts();
  add_inbound(f, 300);
  const Plan p = plan_of(f);
  EXPECT_EQ(p.advice_for("connection-reuse"), nullptr);
  EXPECT_EQ(p.advice_for("bind-address-no-port"), nullptr);
  EXPECT_NE(p.advice_for("inbound-only"), nullptr);
}

TEST(PolicyAdvice, ContainerNodeProfileAsksForEachNamespace)
{
  Profile node;
  node.id = "container-node";
  node.container_netns.value = true;
  EXPECT_NE(plan_of(base_facts(), node).advice_for("per-netns"), nullptr);
  EXPECT_EQ(plan_of(base_facts()).advice_for("per-netns"), nullptr);
}

TEST(PolicyFindings, ProfileIntentThatDisagreesWithTheEvidenceIsNoted)
{
  Facts f = base_facts();
  add_group(f, "198.18.1.1", "198.18.1.2", 80, 28000, 27000);
  Profile web;
  web.id = "web-server";
  web.intent.value = HostIntent::server;
  const Plan p = plan_of(f, web);
  ASSERT_NE(p.finding("intent-mismatch"), nullptr);
  EXPECT_NE(p.finding("intent-mismatch")->summary.find("describes a server"), std::string::npos);
  EXPECT_EQ(plan_of(f).finding("intent-mismatch"), nullptr);

  Facts inbound = base_facts();
  add_inbound(inbound, 50);
  Profile client;
  client.intent.value = HostIntent::client;
  EXPECT_NE(plan_of(inbound, client).finding("intent-mismatch"), nullptr);
  EXPECT_EQ(plan_of(f, client).finding("intent-mismatch"), nullptr);
}

// TWRecycled counts since the namespace was created: 800 left by a tcp_tw_reuse rolled back since
// is no evidence of reuse now. Without a sample the finding says "at some time"; a sample that
// saw no rise says "no reuse now".
TEST(PolicyFindings, ReuseHappeningSaysTheCounterIsCumulative)
{
  Facts f = base_facts();
  add_group(f, "198.18.1.1", "198.18.1.2", 80, 100, 100);
  f.counters.values["TcpExt.TWRecycled"] = 800;
  const Plan once = plan_of(f);
  const Finding* r = once.finding("reuse-happening");
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r->summary.find("800 since this network namespace was created"), std::string::npos) << r->summary;
  EXPECT_NE(r->summary.find("at some time"), std::string::npos) << r->summary;
  EXPECT_EQ(r->summary.find(" now"), r->summary.find(" now)")) << "no present-tense claim: " << r->summary;

  CounterRates still;
  still.interval_seconds = 5;
  still.per_second = { { "TcpExt.TWRecycled", 0.0 } };
  f.rates = still;
  const Plan sampled = plan_of(f);
  ASSERT_NE(sampled.finding("reuse-happening"), nullptr);
  EXPECT_NE(sampled.finding("reuse-happening")->summary.find("did not rise during the sample: no reuse now"),
            std::string::npos)
    << sampled.finding("reuse-happening")->summary;
  EXPECT_TRUE(sampled.finding("reuse-happening")->told_in.empty()) << "HELPS: Why does not state it";

  // Already enabled: the last reason states the counter, so the finding points there.
  Facts full = base_facts();
  set_port_range(full, 40000, 40999);
  add_group(full, "198.18.1.1", "198.18.1.2", 80, 1000, 1000);
  full.counters.values["TcpExt.TWRecycled"] = 800;
  full.rates = still;
  set_sysctl(full, "net.ipv4.tcp_tw_reuse", "1");
  const Plan enabled = plan_of(full);
  ASSERT_EQ(enabled.verdict, Verdict::already_enabled) << all_reasons(enabled);
  ASSERT_NE(enabled.finding("reuse-happening"), nullptr);
  EXPECT_EQ(enabled.finding("reuse-happening")->told_in, "reasons");
  EXPECT_NE(all_reasons(enabled).find("TcpExt.TWRecycled did not rise during the sample"), std::string::npos)
    << all_reasons(enabled);
}

} // namespace
} // namespace tw::test
