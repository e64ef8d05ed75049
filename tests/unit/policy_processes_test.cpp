// Who churns and who leaks: close-wait-leak, connection-churn, open-close-imbalance,
// established-growing and orphans-near-limit over in-memory facts, and the connection-reuse advice naming the
// client.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"

#include <gtest/gtest.h>

namespace tw::test {
namespace {

Plan plan_of(const Facts& f)
{
  return make_plan(f, Profile{}, config::builtin_policy());
}

const Finding* finding(const Plan& p, const std::string& id)
{
  for (const auto& f : p.findings) {
    if (f.id == id) {
      return &f;
    }
  }
  return nullptr;
}

bool has_finding(const Plan& p, const std::string& id)
{
  return finding(p, id) != nullptr;
}

const Advice* advice(const Plan& p, const std::string& id)
{
  for (const auto& a : p.advice) {
    if (a.id == id) {
      return &a;
    }
  }
  return nullptr;
}

ProcessConnections process(std::uint32_t pid,
                           const std::string& comm,
                           ConnectionCounts c,
                           const std::string& dest,
                           bool inbound)
{
  ProcessConnections p;
  p.pid = pid;
  p.comm = comm;
  p.connections = c;
  p.destinations.push_back({ dest, inbound, c });
  return p;
}

TEST(PolicyProcesses, CloseWaitPileNamesTheProcessAndItsAge)
{
  Facts f = base_facts();
  f.sockets.states[static_cast<std::size_t>(TcpState::close_wait)] = 45;
  f.sockets.processes.walked = true;
  f.sockets.processes.sockets_found = 45;
  f.sockets.processes.processes.push_back(process(4242, "server", { 0, 0, 40 }, "198.18.0.2:8080", true));
  f.sockets.processes.processes.back().oldest_close_wait_ms = 35400;
  f.sockets.processes.processes.push_back(process(77, "worker", { 3, 0, 5 }, "198.18.0.1:443", false));
  const Plan p = plan_of(f);
  const Finding* leak = finding(p, "close-wait-leak");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->severity, Severity::warning);
  EXPECT_EQ(leak->evidence.at("top_pid"), 4242);
  EXPECT_EQ(leak->evidence.at("processes"), 1); // 5 is below the threshold of 16
  EXPECT_NE(leak->summary.find("pid 4242 (server) holds 40 CLOSE_WAIT sockets accepted on 198.18.0.2:8080"),
            std::string::npos)
    << leak->summary;
  EXPECT_NE(leak->summary.find("35.4 s"), std::string::npos) << leak->summary;
  EXPECT_NE(leak->summary.find("(45 in all)"), std::string::npos) << leak->summary;
}

TEST(PolicyProcesses, CloseWaitWithoutOwnersSaysWhyAndSpreadOnesAreNoLeak)
{
  Facts f = base_facts();
  f.sockets.states[static_cast<std::size_t>(TcpState::close_wait)] = 30;
  f.sockets.processes.walked = true;
  f.sockets.processes.processes_unreadable = 12;
  const Plan plan1 = plan_of(f);
  const Finding* unowned = finding(plan1, "close-wait-leak");
  ASSERT_NE(unowned, nullptr);
  EXPECT_NE(unowned->summary.find("the fd tables of 12 processes were unreadable (run as root"),
            std::string::npos)
    << unowned->summary;

  f.sockets.processes.sockets_found = 30;
  for (std::uint32_t pid = 1; pid <= 10; ++pid) {
    f.sockets.processes.processes.push_back(process(pid, "w", { 0, 0, 3 }, "198.18.0.1:80", false));
  }
  EXPECT_FALSE(has_finding(plan_of(f), "close-wait-leak")) << "3 each is in-flight work, not a leak";
  f.sockets.states[static_cast<std::size_t>(TcpState::close_wait)] = 15;
  f.sockets.processes = {};
  EXPECT_FALSE(has_finding(plan_of(f), "close-wait-leak")) << "below the threshold";
}

TEST(PolicyProcesses, ChurnFromTheCountersNamesTheProbesConnectorsWithTheirClient)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 900, 880);
  f.rates = CounterRates{};
  f.rates->interval_seconds = 5;
  f.rates->delta["Tcp.ActiveOpens"] = 1500;
  f.rates->per_second["Tcp.ActiveOpens"] = 300;
  f.evidence.source = EvidenceSource::probe;
  f.evidence.window_seconds = 5;
  SymptomDestination d;
  d.destination = "198.18.1.2:8080";
  d.connect_ok = 1510;
  d.processes.push_back({ 4242, "python3", "", 0, 1500, 0, 0 });
  d.processes.push_back({ 99, "pool", "", 0, 10, 0, 0 });
  f.evidence.destinations.push_back(d);
  const Plan p = plan_of(f);
  const Finding* churn = finding(p, "connection-churn");
  ASSERT_NE(churn, nullptr);
  EXPECT_EQ(churn->evidence.at("top_pid"), 4242);
  EXPECT_NE(churn->summary.find("302 new connections/s towards 198.18.1.1 -> 198.18.1.2:8080 (connect() "
                                "calls, measured)"),
            std::string::npos)
    << churn->summary;
  EXPECT_NE(churn->summary.find("pid 4242 (python3) 300 connects/s to 198.18.1.2:8080"), std::string::npos)
    << churn->summary;
  const Advice* reuse = advice(p, "connection-reuse");
  ASSERT_NE(reuse, nullptr);
  EXPECT_EQ(reuse->evidence.at("top_pid"), 4242);
  EXPECT_NE(reuse->text.find("requests.Session"), std::string::npos) << reuse->text;
}

TEST(PolicyProcesses, ChurnWithoutTheProbeNamesTheHoldersTowardsThatDestination)
{
  Facts f = base_facts();
  set_port_range(f, 10000, 60999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 2900, 2880); // 48/s: below 50/s
  add_group(f, "198.18.1.1", "198.18.1.3", 8080, 2900, 2880); // host-wide 96/s is no churn anywhere
  EXPECT_FALSE(has_finding(plan_of(f), "connection-churn"));
  add_group(f, "198.18.1.1", "198.18.1.4", 8080, 6100, 6000); // 100/s at least
  f.sockets.processes.walked = true;
  f.sockets.processes.processes.push_back(process(7, "nginx", { 12, 1, 0 }, "198.18.1.4:8080", false));
  f.sockets.processes.processes.push_back(process(8, "pool", { 20, 0, 0 }, "198.18.9.9:5432", false));
  const Plan p = plan_of(f);
  const Finding* churn = finding(p, "connection-churn");
  ASSERT_NE(churn, nullptr);
  EXPECT_NE(churn->summary.find("100 new connections/s towards 198.18.1.1 -> 198.18.1.4:8080 (at least"),
            std::string::npos)
    << churn->summary;
  EXPECT_NE(churn->summary.find("pid 7 (nginx) holds 13 live connections to 198.18.1.4:8080"),
            std::string::npos)
    << churn->summary;
  EXPECT_EQ(churn->summary.find("pool"), std::string::npos) << churn->summary;
  const Advice* reuse = advice(p, "connection-reuse");
  ASSERT_NE(reuse, nullptr);
  EXPECT_NE(reuse->text.find("keepalive N;"), std::string::npos) << reuse->text;
}

TEST(PolicyProcesses, CurrEstabRisingFasterThanAFifthOfOpensIsAnImbalance)
{
  Facts f = base_facts();
  f.rates = CounterRates{};
  f.rates->interval_seconds = 10;
  f.rates->delta = {
    { "Tcp.ActiveOpens", 100 }, { "Tcp.PassiveOpens", 0 }, { "Tcp.AttemptFails", 0 }, { "Tcp.CurrEstab", 19 }
  };
  EXPECT_FALSE(has_finding(plan_of(f), "open-close-imbalance")) << "19 of 100 is below a fifth";
  f.rates->delta["Tcp.CurrEstab"] = 40;
  const Plan plan2 = plan_of(f);
  const Finding* x = finding(plan2, "open-close-imbalance");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->evidence.at("still_open"), 40);
  EXPECT_NE(x->summary.find("of 100 connections made in 10 s, 40 (40%) did not end"), std::string::npos)
    << x->summary;
  f.rates->delta = { { "Tcp.ActiveOpens", 5 }, { "Tcp.CurrEstab", 5 } };
  EXPECT_FALSE(has_finding(plan_of(f), "open-close-imbalance")) << "a handful is noise";
}

Facts with_trend(std::vector<std::uint64_t> counts)
{
  Facts f = base_facts();
  f.established.measured = true;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    f.established.at_seconds.push_back(static_cast<double>(i));
  }
  f.established.destinations_counted = 1;
  f.established.destinations.push_back({ "198.18.0.1:8080", std::move(counts), 4.0 });
  return f;
}

TEST(PolicyProcesses, EstablishedRisingThroughTheWholeWindowNamesItsHolder)
{
  Facts f = with_trend({ 20, 24, 28, 32, 36 });
  f.sockets.processes.walked = true;
  f.sockets.processes.processes.push_back(process(4242, "api", { 36, 0, 0 }, "198.18.0.1:8080", false));
  f.sockets.processes.processes.push_back(process(7, "other", { 50, 0, 0 }, "198.18.0.9:80", false));
  const Plan plan = plan_of(f);
  const Finding* x = finding(plan, "established-growing");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->severity, Severity::warning);
  EXPECT_EQ(x->evidence.at("first"), 20);
  EXPECT_EQ(x->evidence.at("last"), 36);
  EXPECT_EQ(x->evidence.at("slope_per_second"), 4.0);
  EXPECT_EQ(x->evidence.at("top_pid"), 4242); // the holder towards that destination, not the biggest
  EXPECT_NE(x->summary.find("ESTABLISHED towards 198.18.0.1:8080 rose from 20 to 36 through the 4 s window "
                            "(4/s), never falling; pid 4242 (api) holds 36 connections to it"),
            std::string::npos)
    << x->summary;
}

TEST(PolicyProcesses, APoolThatLevelsOffOrDipsOrGainsAHandfulIsNotGrowth)
{
  EXPECT_FALSE(has_finding(plan_of(with_trend({ 0, 20, 20, 20, 20 })), "established-growing"))
    << "a pool filled at the start and levelled off";
  EXPECT_FALSE(has_finding(plan_of(with_trend({ 0, 0, 0, 10, 20 })), "established-growing"))
    << "flat through the first half";
  EXPECT_FALSE(has_finding(plan_of(with_trend({ 0, 10, 5, 15, 20 })), "established-growing"))
    << "it fell between two counts: connections do end";
  EXPECT_FALSE(has_finding(plan_of(with_trend({ 0, 2, 4, 6, 8 })), "established-growing"))
    << "8 more is below leaks.established_growth (10)";
  EXPECT_FALSE(has_finding(plan_of(with_trend({ 0, 20 })), "established-growing"))
    << "two counts are no trend";
  Facts unmeasured = with_trend({ 0, 10, 20, 30, 40 });
  unmeasured.established.measured = false;
  EXPECT_FALSE(has_finding(plan_of(unmeasured), "established-growing"));
  // Without named owners the finding says why.
  const Plan unnamed = plan_of(with_trend({ 0, 10, 20, 30, 40 }));
  const Finding* x = finding(unnamed, "established-growing");
  ASSERT_NE(x, nullptr);
  EXPECT_NE(x->summary.find("owners not named"), std::string::npos) << x->summary;
}

TEST(PolicyProcesses, OrphansNearTheLimitWarnThenErr)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_max_orphans", "1000");
  f.counters.values["sockstat.tcp_orphan"] = 249;
  EXPECT_FALSE(has_finding(plan_of(f), "orphans-near-limit"));
  f.counters.values["sockstat.tcp_orphan"] = 300;
  const Plan warned = plan_of(f);
  const Finding* warn = finding(warned, "orphans-near-limit");
  ASSERT_NE(warn, nullptr);
  EXPECT_EQ(warn->severity, Severity::warning);
  f.counters.values["sockstat.tcp_orphan"] = 500;
  const Plan erred = plan_of(f);
  const Finding* err = finding(erred, "orphans-near-limit");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->severity, Severity::error);
}

} // namespace
} // namespace tw::test
