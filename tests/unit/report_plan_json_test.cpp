// The JSON plan document as written: its fields, their order, valid UTF-8.
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

#include <gtest/gtest.h>

namespace tw::test {
namespace {

using nlohmann::json;

TEST(ReportPlanJson, HasTheDocumentedFields)
{
  const Facts f = stuck_client_behind_nat();
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  const json j = plan_document(p, f);
  EXPECT_EQ(j.at("schema_version"), 2);
  EXPECT_EQ(j.at("kind"), "plan");
  EXPECT_EQ(j.at("host").at("hostname"), f.host.hostname);
  EXPECT_EQ(j.at("host").at("netns").at("inode"), f.host.netns_inode);
  EXPECT_EQ(j.at("verdict"), "helps");
  for (const char* k : { "reasons",
                         "prerequisites",
                         "changes",
                         "findings",
                         "advice",
                         "sockets",
                         "facts",
                         "profile",
                         "policy",
                         "missing",
                         "generator" }) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  ASSERT_EQ(j.at("changes").size(), 2u);
  EXPECT_EQ(j["changes"][0],
            (json{ { "key", "net.ipv4.tcp_timestamps" },
                   { "old", "0" },
                   { "new", "1" },
                   { "reason", p.changes[0].reason } }));
  EXPECT_EQ(j["sockets"]["time_wait"],
            (json{ { "outbound", 1000 }, { "inbound", 3 }, { "unknown", 0 }, { "outside_range", 0 } }));
  EXPECT_EQ(j["facts"]["sysctls"]["net.ipv4.ip_local_port_range"]["value"], "40000 40999");
  EXPECT_EQ(j["facts"]["sysctls"]["net.ipv4.tcp_tw_recycle"]["status"], "absent");
  EXPECT_EQ(j["facts"]["kernel"], "6.8.0-test");
  EXPECT_EQ(j["facts"]["netns"], 4026531840u);
  EXPECT_EQ(j["facts"]["nat"]["random_fully"], true);
  EXPECT_EQ(j["facts"]["rates"]["per_second"]["Tcp.ActiveOpens"], 450.5);
  EXPECT_TRUE(j["prerequisites"][0].contains("status"));
  // integral evidence is written as an integer
  bool found = false;
  for (const auto& x : j["findings"]) {
    if (x["id"] == "port-pressure") {
      found = true;
      EXPECT_TRUE(x["evidence"]["time_wait"].is_number_integer());
      EXPECT_EQ(x["evidence"]["time_wait"], 1000);
    }
  }
  EXPECT_TRUE(found);
}

TEST(ReportPlanJson, KeysReadTopDownWithTheSchemaVersionFirst)
{
  const Facts f = stuck_client_behind_nat();
  const nlohmann::ordered_json doc = plan_document(make_plan(f, Profile{}, config::builtin_policy()), f);
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.items()) {
    keys.push_back(k);
  }
  const std::vector<std::string> want = { "schema_version", "kind",          "generator", "generated_at",
                                          "host",           "verdict",       "reasons",   "missing",
                                          "changes",        "prerequisites", "findings",  "advice",
                                          "profile",        "policy",        "sockets",   "evidence",
                                          "facts" };
  EXPECT_EQ(keys, want);
  EXPECT_EQ(doc.dump().rfind("{\"schema_version\":2,\"kind\":\"plan\",", 0), 0u) << doc.dump().substr(0, 40);
}

TEST(ReportPlanJson, NonUtf8HostnameNeverMakesTheDocumentFail)
{
  Facts f = stuck_client_behind_nat();
  f.host.hostname = std::string("bad\xff\xfehost");
  f.host.kernel_release = "caf\xC3\xA9 \xC0\xAF"; // valid UTF-8 kept, an overlong '/' is not
  const std::string text = json_text(plan_to_json(make_plan(f, Profile{}, config::builtin_policy()), f));
  const json back = json::parse(text);
  EXPECT_EQ(back["facts"]["hostname"], "bad\xEF\xBF\xBD\xEF\xBF\xBDhost");
  EXPECT_EQ(back["facts"]["kernel"], "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(json::parse(json_text(plan_to_json(make_plan(f, Profile{}, config::builtin_policy()), f), -1)),
            back); // the digest's one-line form says the same
}

} // namespace
} // namespace tw::test
