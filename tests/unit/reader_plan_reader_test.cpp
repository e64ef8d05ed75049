// Reading plan documents back: round trips (plan and recorded facts) and strict reading.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace tw::test {
namespace {

using nlohmann::json;

std::string error_of(const json& doc)
{
  try {
    plan_from_json(doc, "plan.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ReaderPlanReader, PlanRoundTripsThroughText)
{
  const Facts f = stuck_client_behind_nat();
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  // told_in travels too: a finding here points to the reasons, one to a prerequisite.
  ASSERT_TRUE(std::any_of(
    p.findings.begin(), p.findings.end(), [](const Finding& x) { return x.told_in == "reasons"; }));
  ASSERT_TRUE(std::any_of(p.findings.begin(), p.findings.end(), [](const Finding& x) {
    return x.told_in.starts_with("prerequisites.");
  }));
  const std::string text = plan_document(p, f).dump(2);
  EXPECT_EQ(plan_from_json_text(text, "plan.json"), p);
}

TEST(ReaderPlanReader, RecordedFactsGiveTheSamePlan)
{
  for (Facts f : { stuck_client_behind_nat(), base_facts() }) {
    const Plan p = make_plan(f, Profile{}, config::builtin_policy());
    const json doc = json::parse(plan_document(p, f).dump());
    const Facts back = facts_from_json(doc, "rec.json");
    EXPECT_EQ(make_plan(back, Profile{}, config::builtin_policy()), p);
    EXPECT_EQ(back.sockets.groups.size(), f.sockets.groups.size());
    EXPECT_EQ(back.sysctls.values.size(), f.sysctls.values.size());
    EXPECT_EQ(back.rates.has_value(), f.rates.has_value());
  }
}

TEST(ReaderPlanReader, StrictReadingNamesThePath)
{
  const Facts f = stuck_client_behind_nat();
  const json good = plan_document(make_plan(f, Profile{}, config::builtin_policy()), f);
  EXPECT_EQ(error_of(good), "");

  json j = good;
  j["schema_version"] = 1;
  EXPECT_NE(error_of(j).find("plan.json: /schema_version: expected 2, got 1"), std::string::npos)
    << error_of(j);

  j = good;
  j.erase("changes");
  EXPECT_NE(error_of(j).find("missing field \"changes\""), std::string::npos) << error_of(j);

  j = good;
  j["changes"][1]["new"] = 1;
  EXPECT_NE(error_of(j).find("/changes/1/new: expected a string, got number"), std::string::npos)
    << error_of(j);

  j = good;
  j["changes"][0]["key"] = "net.ipv4/../../etc";
  EXPECT_NE(error_of(j).find("/changes/0/key"), std::string::npos) << error_of(j);

  j = good;
  j["changes"][0]["new"] = "1\nkernel.panic=1";
  EXPECT_NE(error_of(j).find("/changes/0/new: control character"), std::string::npos) << error_of(j);

  j = good;
  j["changes"][1]["key"] = j["changes"][0]["key"];
  EXPECT_NE(error_of(j).find("appears twice"), std::string::npos) << error_of(j);

  j = good;
  j["verdict"] = "maybe";
  EXPECT_NE(error_of(j).find("/verdict"), std::string::npos) << error_of(j);

  j = good;
  j["findings"][0]["evidence"]["x"] = "many";
  EXPECT_NE(error_of(j).find("/findings/0/evidence/x: expected a number"), std::string::npos) << error_of(j);

  j = good;
  j["kind"] = "census";
  EXPECT_NE(error_of(j).find("plan.json: /kind: expected \"plan\""), std::string::npos) << error_of(j);

  EXPECT_NE(error_of(json::array()).find("expected an object"), std::string::npos);
}

// doc/json.md: a newer generator of the same schema_version may add fields anywhere; the reader
// reads what it knows and the plan is the same.
TEST(ReaderPlanReader, FieldsAddedByANewerGeneratorAreIgnored)
{
  const Facts f = stuck_client_behind_nat();
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  json doc = plan_document(p, f);
  doc["surprise"] = true;
  doc["changes"][0]["extra"] = "x";
  doc["findings"][0]["explain"] = "tw-advisor explain x";
  doc["prerequisites"][0]["since"] = 6;
  doc["advice"][0]["url"] = "https://example.org";
  EXPECT_EQ(plan_from_json(doc, "plan.json"), p);
  EXPECT_EQ(plan_from_json_text(doc.dump(), "plan.json"), p);
  // ... but a member given twice is refused: which one a reader believes is not defined.
  const std::string twice = doc.dump().insert(1, "\"verdict\": \"irrelevant\", ");
  EXPECT_THROW(plan_from_json_text(twice, "plan.json"), Error);
}

TEST(ReaderPlanReader, SyntaxErrorNamesLineAndColumn)
{
  try {
    plan_from_json_text("{\n  \"schema_version\": 1,\n  \"verdict\": helps\n}\n", "/tmp/p.json");
    FAIL() << "accepted broken JSON";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp/p.json:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(ReaderPlanReader, RecordedFactsErrorsNameThePath)
{
  const Facts f = stuck_client_behind_nat();
  json doc = plan_document(make_plan(f, Profile{}, config::builtin_policy()), f);
  doc["sockets"]["groups"][0]["family"] = "ipx";
  try {
    facts_from_json(doc, "rec.json");
    FAIL() << "accepted a bad family";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rec.json: /sockets/groups/0/family"), std::string::npos)
      << e.what();
  }
}

std::string recorded_error(const json& doc)
{
  try {
    facts_from_json(doc, "rec.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ReaderPlanReader, RecordedFactsAreRangeChecked)
{
  const Facts f = stuck_client_behind_nat();
  const json good = json(plan_document(make_plan(f, Profile{}, config::builtin_policy()), f));
  EXPECT_EQ(recorded_error(good), "");

  json doc = good;
  doc["sockets"]["port_range"]["high"] = 70000; // would narrow to another port
  EXPECT_NE(recorded_error(doc).find("/sockets/port_range/high: out of range 0..65535"), std::string::npos)
    << recorded_error(doc);
  doc = good;
  doc["sockets"]["groups"][0]["time_wait"] = 1001; // more than in_use 1000: would underflow
  EXPECT_NE(recorded_error(doc).find("/sockets/groups/0/time_wait: 1001 is more than in_use 1000"),
            std::string::npos)
    << recorded_error(doc);
  doc = good;
  doc["sockets"]["usable_ports"] = 5000;
  EXPECT_NE(recorded_error(doc).find("/sockets/usable_ports"), std::string::npos) << recorded_error(doc);
  doc = good;
  doc["sockets"]["groups"][0]["timestamps"] = { { "outbound_established", 2 }, { "negotiated", 3 } };
  EXPECT_NE(recorded_error(doc).find("/sockets/groups/0/timestamps/negotiated"), std::string::npos)
    << recorded_error(doc);
}

TEST(ReaderPlanReader, PerGroupTimestampsAreReadAndMayBeAbsent)
{
  Facts f = stuck_client_behind_nat();
  set_group_timestamps(f, 20, 0);
  json doc = json(plan_document(make_plan(f, Profile{}, config::builtin_policy()), f));
  Facts back = facts_from_json(doc, "rec.json");
  ASSERT_EQ(back.sockets.groups.size(), 1u);
  EXPECT_EQ(back.sockets.groups[0].outbound_established, 20u);
  EXPECT_EQ(back.sockets.groups[0].with_timestamps, 0u);
  doc["sockets"]["groups"][0].erase("timestamps"); // a recording from before the field existed
  back = facts_from_json(doc, "rec.json");
  EXPECT_EQ(back.sockets.groups[0].outbound_established, 0u);
}

TEST(ReaderPlanReader, NewerCensusCountsRoundTripAndAreChecked)
{
  Facts f = stuck_client_behind_nat();
  f.sockets.time_wait.unknown = 7;
  f.sockets.time_wait.outside_range = 5;
  f.sockets.groups.front().v4_mapped = 3;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  auto doc = json::parse(plan_document(p, f).dump());
  const Facts back = facts_from_json(doc, "rec.json");
  EXPECT_EQ(back.sockets.time_wait.outside_range, 5u);
  EXPECT_EQ(back.sockets.groups.front().v4_mapped, 3u);
  doc["sockets"]["time_wait"]["outside_range"] = 8; // more than unknown
  try {
    facts_from_json(doc, "rec.json");
    FAIL() << "outside_range above unknown was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/sockets/time_wait/outside_range"), std::string::npos) << e.what();
  }
}

// The owners the census named and the ESTABLISHED trend of the window come back whole, so
// `plan --facts` gives close-wait-leak and established-growing with the same processes.
TEST(ReaderPlanReader, OwnersAndTheEstablishedTrendRoundTrip)
{
  Facts f = stuck_client_behind_nat();
  f.sockets.states[static_cast<std::size_t>(TcpState::close_wait)] = 40;
  ProcessAttribution& a = f.sockets.processes;
  a.walked = true;
  a.reader = "bpf-iter";
  a.sockets_wanted = 60;
  a.sockets_found = 60;
  a.processes_scanned = 300;
  a.fds_scanned = 9000;
  a.walk_ms = 12.5;
  a.process_count = 1;
  ProcessConnections p;
  p.pid = 4242;
  p.comm = "api";
  p.cmdline = "python3 app.py";
  p.cgroup = "/system.slice/api.service";
  p.container = "api.service";
  p.connections = { 20, 0, 40 };
  p.oldest_close_wait_ms = 9000;
  p.destinations.push_back({ "198.18.0.1:8080", false, { 20, 0, 0 } });
  p.destinations.push_back({ "198.18.0.2:80", true, { 0, 0, 40 } });
  a.processes.push_back(p);
  f.established.measured = true;
  f.established.at_seconds = { 0, 1, 2, 3 };
  f.established.destinations_counted = 2;
  f.established.destinations.push_back({ "198.18.0.1:8080", { 5, 10, 15, 20 }, 5.0 });

  const Plan plan = make_plan(f, Profile{}, config::builtin_policy());
  bool leak = false;
  bool growing = false;
  for (const auto& x : plan.findings) {
    leak = leak || x.id == "close-wait-leak";
    growing = growing || x.id == "established-growing";
  }
  EXPECT_TRUE(leak);
  EXPECT_TRUE(growing);
  auto doc = json::parse(plan_document(plan, f).dump());
  const Facts back = facts_from_json(doc, "rec.json");
  EXPECT_EQ(back.sockets.processes, a);
  EXPECT_EQ(back.established, f.established);
  EXPECT_EQ(make_plan(back, Profile{}, config::builtin_policy()), plan);

  // One count per point, or the path says what is wrong.
  doc["facts"]["established_trend"]["destinations"][0]["established"].push_back(25);
  try {
    facts_from_json(doc, "rec.json");
    FAIL() << "a fifth count for four points was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/established_trend/destinations/0/established"), std::string::npos)
      << e.what();
  }
}

TEST(ReaderPlanReader, PlanDocumentSaysWhereThePlanWasMade)
{
  Facts f = stuck_client_behind_nat();
  f.host.hostname = "web-1";
  f.host.netns_inode = 4026531840;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  const auto doc = plan_document_from_json_text(plan_document(p, f).dump(), "plan.json");
  EXPECT_EQ(doc.plan, p);
  EXPECT_EQ(doc.hostname, "web-1");
  EXPECT_EQ(doc.netns, 4026531840u);
  auto bad = json::parse(plan_document(p, f).dump());
  bad["facts"]["netns"] = "4026531840";
  try {
    plan_document_from_json_text(bad.dump(), "plan.json");
    FAIL() << "a netns that is not a number was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/facts/netns"), std::string::npos) << e.what();
  }
}

// What apply would leave in the generated sysctl.d file: an earlier apply's key kept in place,
// the changes merged in; read back exactly; a line that is not `key = value` is refused.
TEST(ReaderPlanReader, PersistShowsTheGeneratedFileBeforeAndAfter)
{
  Facts f = stuck_client_behind_nat();
  BootFacts boot;
  boot.generated_file = "/etc/sysctl.d/90-tw-advisor.conf";
  // sysctl.d allows a slashed key too: kept as written.
  boot.generated = { { "net/ipv4/tcp_fin_timeout", "30" }, { "net.ipv4.tcp_timestamps", "0" } };
  f.boot = boot;
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_FALSE(p.changes.empty()) << p.reasons.front();
  ASSERT_TRUE(p.persist.has_value());
  EXPECT_EQ(p.persist->file, "/etc/sysctl.d/90-tw-advisor.conf");
  EXPECT_EQ(p.persist->old_settings, boot.generated);
  Settings expected = boot.generated;
  for (const auto& c : p.changes) {
    const auto it =
      std::find_if(expected.begin(), expected.end(), [&](const auto& kv) { return kv.first == c.key; });
    if (it != expected.end()) {
      it->second = c.target;
    } else {
      expected.emplace_back(c.key, c.target);
    }
  }
  EXPECT_EQ(p.persist->new_settings, expected);
  EXPECT_EQ(p.persist->new_settings.front(),
            (std::pair<std::string, std::string>{ "net/ipv4/tcp_fin_timeout", "30" }));

  const json doc = json::parse(plan_document(p, f).dump());
  EXPECT_EQ(doc["persist"]["old"], json({ "net/ipv4/tcp_fin_timeout = 30", "net.ipv4.tcp_timestamps = 0" }));
  EXPECT_EQ(plan_document_from_json_text(doc.dump(), "plan.json").plan, p);

  // Without the boot facts (a recording made without them) there is nothing to preview.
  f.boot.reset();
  EXPECT_FALSE(make_plan(f, Profile{}, config::builtin_policy()).persist.has_value());

  auto bad = json::parse(doc.dump());
  bad["persist"]["new"][0] = "net.ipv4.tcp_tw_reuse=1";
  try {
    plan_from_json(bad, "plan.json");
    FAIL() << "a persist line without ' = ' was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/persist/new/0"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace tw::test
