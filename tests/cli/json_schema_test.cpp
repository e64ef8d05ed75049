// The machine contract (doc/json.md): every JSON document has a schema under schema/, and the
// check every test makes of what tw-advisor prints (support/schema.hpp) really rejects a broken one.
#include "support/process.hpp"
#include "support/schema.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json plan_json()
{
  const fs::path root = fs::temp_directory_path() / ("tw-schema-cli-" + std::to_string(::getpid()));
  fs::create_directories(root);
  const auto r = run({ required_env("TW_ADVISOR_BIN"),
                       "plan",
                       "--facts",
                       required_env("TW_TEST_DATA") + "/plan/facts/snat.json",
                       "--root",
                       root.string(),
                       "--format",
                       "json" });
  fs::remove_all(root);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

TEST(JsonSchema, EveryDocumentKindHasASchema)
{
  const fs::path dir = required_env("TW_SCHEMA_DIR");
  for (const char* kind : { "common",
                            "plan",
                            "census",
                            "node-plan",
                            "node-census",
                            "check",
                            "apply",
                            "rollback",
                            "status",
                            "error" }) {
    const fs::path file = dir / (std::string(kind) + ".schema.json");
    ASSERT_TRUE(fs::is_regular_file(file)) << file;
    const json schema = json::parse(std::ifstream(file));
    EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema") << file;
    EXPECT_EQ(schema.at("$id"), std::string(kind) + ".schema.json") << file;
  }
}

TEST(JsonSchema, AValidPlanPassesAndEachBreakageIsCaught)
{
  const json good = plan_json();
  EXPECT_EQ(schema_problem(good.dump()), "");

  json bad = good;
  bad["verdict"] = "maybe";
  EXPECT_NE(schema_problem(bad.dump()).find("/verdict"), std::string::npos) << schema_problem(bad.dump());
  bad = good;
  bad.erase("host");
  EXPECT_NE(schema_problem(bad.dump()).find("host"), std::string::npos) << schema_problem(bad.dump());
  bad = good;
  bad["findings"][0]["severity"] = "critical"; // the old vocabulary
  EXPECT_NE(schema_problem(bad.dump()).find("/findings/0/severity"), std::string::npos)
    << schema_problem(bad.dump());
  bad = good;
  bad["schema_version"] = 1;
  EXPECT_NE(schema_problem(bad.dump()), "");
  bad = good;
  bad["kind"] = "census"; // a plan is not a census
  EXPECT_NE(schema_problem(bad.dump()), "");
  bad = good;
  bad.erase("kind");
  EXPECT_NE(schema_problem(bad.dump()).find("\"kind\""), std::string::npos) << schema_problem(bad.dump());
  EXPECT_NE(schema_problem("tw-advisor: error: x"), "");
  // A field a newer generator adds is fine (doc/json.md).
  json added = good;
  added["explain"] = "https://example.invalid";
  EXPECT_EQ(schema_problem(added.dump()), "");
}

TEST(JsonSchema, UsageErrorsPrintTheErrorDocumentToo)
{
  const std::vector<std::vector<std::string>> cases = {
    { "census", "--format", "json", "--bogus" },
    { "apply", "--format", "json", "--canary-percent", "200" },
    { "check", "--format=json", "--nope" }
  };
  for (const auto& words : cases) {
    std::vector<std::string> argv = { required_env("TW_ADVISOR_BIN") };
    argv.insert(argv.end(), words.begin(), words.end());
    const auto r = run(argv); // run() validates the document against error.schema.json
    EXPECT_EQ(r.exit_code, 1) << join_argv(argv);
    const json doc = json::parse(r.out);
    EXPECT_EQ(doc.at("kind"), "error");
    EXPECT_EQ(doc.at("command"), words.front());
    EXPECT_EQ(doc.at("exit_code"), 1);
    EXPECT_FALSE(doc.at("error").at("message").get<std::string>().empty());
  }
}

// A --netns that names no namespace fails every command before it starts, with one JSON document
// on stdout all the same: the error document, or apply's and rollback's own outcome "error".
TEST(JsonSchema, ABadNetnsStillPrintsOneDocument)
{
  for (const char* command : { "plan", "census", "status", "apply", "rollback" }) {
    std::vector<std::string> argv = { required_env("TW_ADVISOR_BIN"), command,    "--netns",
                                      "/nonexistent/tw-netns",        "--format", "json" };
    const auto r = run(argv); // run() validates it against the schema of its kind
    EXPECT_EQ(r.exit_code, 1) << join_argv(argv) << "\n" << r.err;
    json doc;
    ASSERT_NO_THROW(doc = json::parse(r.out)) << join_argv(argv) << " printed: " << r.out;
    const std::string text = doc.dump();
    EXPECT_NE(text.find("/nonexistent/tw-netns"), std::string::npos) << text;
    if (std::string_view(command) == "apply" || std::string_view(command) == "rollback") {
      EXPECT_EQ(doc.at("kind"), command);
      EXPECT_EQ(doc.at("outcome"), "error") << text;
    } else {
      EXPECT_EQ(doc.at("kind"), "error") << text;
    }
  }
}

} // namespace
} // namespace tw::test
