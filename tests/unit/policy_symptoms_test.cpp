// The engine on the probe's evidence: a measured symptom confirms or overturns the inference
// from the socket counts, and every reason quotes the numbers and names the processes.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tw::test {
namespace {

const Finding* finding(const Plan& p, const std::string& id)
{
  for (const auto& f : p.findings) {
    if (f.id == id) {
      return &f;
    }
  }
  return nullptr;
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

SymptomProcess process(std::uint32_t pid,
                       const std::string& comm,
                       std::uint64_t connects,
                       std::uint64_t failed)
{
  SymptomProcess p;
  p.pid = pid;
  p.comm = comm;
  p.cgroup = "/system.slice/" + comm + ".service";
  p.cgroup_id = 1000 + pid;
  p.connects = connects;
  p.eaddrnotavail = failed;
  return p;
}

// Every port towards 198.18.62.1:8080 in TIME_WAIT, as sock_diag shows it for both kinds of client,
// with the probe's window of 5 s.
Facts pressured_client()
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.62.2", "198.18.62.1", 8080, 1000, 1000);
  f.evidence.source = EvidenceSource::probe;
  f.evidence.reason = "BPF probe";
  f.evidence.window_seconds = 5;
  return f;
}

// The probe saw connect() fail: the client lets connect() pick its port.
Facts connect_client()
{
  Facts f = pressured_client();
  SymptomDestination d;
  d.destination = "198.18.62.1:8080";
  d.family = "ipv4";
  d.connect_ok = 40;
  d.connect_eaddrnotavail = 212;
  d.processes = { process(4242, "api-worker", 252, 212) };
  f.evidence.destinations.push_back(d);
  return f;
}

// The probe saw bind() to port 0 fail and no connect() fail: the client bind()s first.
Facts bind_client()
{
  Facts f = pressured_client();
  SymptomDestination d;
  d.destination = "198.18.62.1:8080";
  d.family = "ipv4";
  d.connect_ok = 40;
  d.processes = { process(777, "legacy-rpc", 40, 0) };
  f.evidence.destinations.push_back(d);
  SymptomBindFailure b;
  b.local = "0.0.0.0";
  b.family = "ipv4";
  b.count = 180;
  SymptomProcess p = process(777, "legacy-rpc", 0, 0);
  p.eaddrinuse = 180;
  b.processes = { p };
  f.evidence.bind_eaddrinuse.push_back(b);
  return f;
}

TEST(PolicySymptoms, MeasuredEaddrnotavailConfirmsHelpsWithNumbersAndTheProcess)
{
  const Plan p = make_plan(connect_client(), Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("Measured: 212 connect() calls failed with EADDRNOTAVAIL in 5 s towards "
                                "198.18.62.1:8080, all from pid 4242 (api-worker)."),
            std::string::npos)
    << all_reasons(p);
  const Finding* f = finding(p, "connect-eaddrnotavail");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::error);
  EXPECT_EQ(f->evidence.at("eaddrnotavail"), 212);
  const Advice* reuse = advice(p, "connection-reuse");
  ASSERT_NE(reuse, nullptr);
  EXPECT_NE(reuse->text.find("; pid 4242 (api-worker) "), std::string::npos) << reuse->text;
  EXPECT_NE(reuse->text.find(" connects/s to "), std::string::npos) << reuse->text;
}

TEST(PolicySymptoms, BindClientIsNotACaseForTwReuse)
{
  const Facts f = bind_client();
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::irrelevant) << all_reasons(p);
  EXPECT_TRUE(p.changes.empty());
  EXPECT_NE(
    all_reasons(p).find("bind() to port 0 failed 180 times with EADDRINUSE in 5 s on 0.0.0.0, from pid "
                        "777 (legacy-rpc)"),
    std::string::npos)
    << all_reasons(p);
  ASSERT_NE(finding(p, "bind-eaddrinuse"), nullptr);
  const Advice* a = advice(p, "bind-address-no-port");
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->text.find("IP_BIND_ADDRESS_NO_PORT"), std::string::npos);
  EXPECT_NE(a->text.find("IP_LOCAL_PORT_RANGE"), std::string::npos);
  EXPECT_NE(a->text.find("pid 777 (legacy-rpc)"), std::string::npos) << a->text;

  // The same sockets without the probe: the inference says helps, as before.
  Facts counted = f;
  counted.evidence = counters_evidence("--no-probe");
  EXPECT_EQ(make_plan(counted, Profile{}, config::builtin_policy()).verdict, Verdict::helps);
}

TEST(PolicySymptoms, BindFailuresOnAnotherAddressDoNotExcuseTheGroup)
{
  Facts f = bind_client();
  f.evidence.bind_eaddrinuse[0].local = "198.18.99.9"; // not this group's source address
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::helps);
  f.evidence.bind_eaddrinuse[0].local = "198.18.62.2"; // this group's source address
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::irrelevant);
}

TEST(PolicySymptoms, AnUnrelatedBindClientDoesNotExcuseAConnectClient)
{
  // The probe saw connect() towards the group from pid 4242 succeed, and bind() fail in pid 777.
  Facts f = bind_client();
  f.evidence.destinations[0].processes = { process(4242, "api-worker", 40, 0) };
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::helps);
  // The same bind() failures from the process that connects there: a bind() client.
  f.evidence.destinations[0].processes.push_back(process(777, "legacy-rpc", 40, 0));
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::irrelevant);
}

TEST(PolicySymptoms, ADualStackBindClientIsRecognisedTowardsIpv4)
{
  Facts f = bind_client();
  f.evidence.bind_eaddrinuse[0].local = "::";
  f.evidence.bind_eaddrinuse[0].family = "ipv6";
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).verdict, Verdict::irrelevant);
}

TEST(PolicySymptoms, MixedHostHelpsForTheConnectClientAndNamesTheBindClient)
{
  Facts f = bind_client();
  // A second destination, pressured by a connect() client that fails with EADDRNOTAVAIL.
  add_group(f, "198.18.62.2", "198.18.63.1", 443, 1000, 1000);
  f.evidence.destinations.push_back(connect_client().evidence.destinations[0]);
  f.evidence.destinations.back().destination = "198.18.63.1:443";
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("towards 198.18.63.1:443, all from pid 4242 (api-worker)"), std::string::npos)
    << all_reasons(p);
  ASSERT_NE(finding(p, "bind-eaddrinuse"), nullptr);
  const Finding* exhausted = finding(p, "ports-exhausted");
  ASSERT_NE(exhausted, nullptr);

  // With tw_reuse already on, the bind() client's exhausted group is not said to be taken over.
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "1");
  f.evidence.destinations.pop_back();
  f.sockets.groups.pop_back();
  const Plan on = make_plan(f, Profile{}, config::builtin_policy());
  const Finding* e = finding(on, "ports-exhausted");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->summary.find("the probe saw bind() to port 0 fail there, not connect()"), std::string::npos)
    << e->summary;
}

TEST(PolicySymptoms, RecycledConnectsThatFailMakeNatAMeasuredProblem)
{
  Facts f = connect_client();
  SymptomDestination& d = f.evidence.destinations[0];
  d.recycled = 40;
  d.recycled_failed = 9;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(p.verdict, Verdict::helps);
  EXPECT_NE(all_reasons(p).find("Measured: 9 of 40 connects that reused a TIME_WAIT tuple towards "
                                "198.18.62.1:8080 failed before ESTABLISHED in 5 s"),
            std::string::npos)
    << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("apply with --canary"), std::string::npos);
  ASSERT_NE(finding(p, "recycled-connects-failed"), nullptr);
  EXPECT_EQ(finding(p, "recycled-connects-failed")->severity, Severity::error);
  const Advice* canary = advice(p, "canary-first");
  ASSERT_NE(canary, nullptr) << "no NAT seen, but the failures are measured";
  EXPECT_EQ(canary->text.rfind("Recycled connects failed (measured)", 0), 0u) << canary->text;

  // Already enabled: the failures are said in the reasons too.
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "1");
  const Plan on = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(on.verdict, Verdict::already_enabled);
  EXPECT_NE(all_reasons(on).find("Measured: 9 of 40"), std::string::npos) << all_reasons(on);
}

TEST(PolicySymptoms, SlowConnectOnAFillingRangeIsAnEarlyWarning)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.62.2", "198.18.62.1", 8080, 700, 100); // 70% in use, little TIME_WAIT
  f.evidence.source = EvidenceSource::probe;
  f.evidence.window_seconds = 5;
  SymptomDestination d;
  d.destination = "198.18.62.1:8080";
  d.family = "ipv4";
  d.connect_ok = 500;
  d.connect_us_p50 = 320;
  d.connect_us_p99 = 2560;
  f.evidence.destinations.push_back(d);
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  const Finding* slow = finding(p, "connect-slow");
  ASSERT_NE(slow, nullptr);
  EXPECT_NE(slow->summary.find("2560 us at p99"), std::string::npos) << slow->summary;

  f.evidence.destinations[0].connect_us_p99 = 200; // fast: no warning
  EXPECT_EQ(finding(make_plan(f, Profile{}, config::builtin_policy()), "connect-slow"), nullptr);
}

TEST(PolicySymptoms, EvidenceRoundTripsThroughThePlanDocument)
{
  Facts f = connect_client();
  // Every field distinct and non-zero, so a reader that swapped or skipped one would be caught.
  SymptomDestination& d = f.evidence.destinations[0];
  d.connect_errors = { { "ETIMEDOUT", 3 }, { "ECONNREFUSED", 4 } };
  d.v4_mapped = 5;
  d.handshakes_ok = 6;
  d.handshakes_failed = 7;
  d.recycled = 8;
  d.recycled_failed = 9;
  d.connect_us_p50 = 12;
  d.connect_us_p99 = 96;
  SymptomProcess gone = process(31337, "short-lived", 11, 10);
  gone.cgroup.clear(); // the process had gone when the probe was read
  gone.eaddrinuse = 13;
  d.processes.push_back(gone);
  SymptomDestination v6;
  v6.destination = "[fd00::1]:443";
  v6.family = "ipv6";
  v6.connect_ok = 14;
  f.evidence.destinations.push_back(v6);
  f.evidence.bind_eaddrinuse = bind_client().evidence.bind_eaddrinuse;
  f.evidence.dropped = 2;
  f.evidence.time_wait_seen = 70000;
  f.evidence.time_wait_capped = true;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  const nlohmann::json doc = nlohmann::json::parse(plan_document(p, f).dump());
  EXPECT_EQ(doc.at("evidence").at("source"), "probe");
  EXPECT_EQ(doc["evidence"]["destinations"][1]["connect_us_p99"], nullptr);
  EXPECT_EQ(doc["evidence"]["destinations"][0]["processes"][1]["cgroup"], nullptr);
  const Facts back = facts_from_json(doc, "plan.json");
  EXPECT_EQ(back.evidence, f.evidence);
  EXPECT_EQ(make_plan(back, Profile{}, config::builtin_policy()), p);

  nlohmann::json bad = doc;
  bad["evidence"]["source"] = "guess";
  EXPECT_THROW(facts_from_json(bad, "plan.json"), Error);
  bad = doc;
  bad["evidence"]["destinations"][0]["family"] = "ipx";
  EXPECT_THROW(facts_from_json(bad, "plan.json"), Error);
  bad = doc;
  bad["evidence"]["surprise"] = 1; // added by a newer generator: read as before (doc/json.md)
  EXPECT_EQ(facts_from_json(bad, "plan.json").evidence, f.evidence);
  bad = doc;
  bad["evidence"] = 42; // apply --plan checks it too
  EXPECT_THROW(plan_from_json(bad, "plan.json"), Error);
  bad = doc;
  bad["evidence"]["destinations"][0]["connect_eaddrnotavail"] = -1;
  try {
    facts_from_json(bad, "plan.json");
    ADD_FAILURE() << "a negative count was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/evidence/destinations/0/connect_eaddrnotavail"), std::string::npos)
      << e.what();
  }
}

} // namespace
} // namespace tw::test
