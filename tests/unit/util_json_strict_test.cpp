#include "util/error.hpp"
#include "util/json_strict.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

std::string error_of(const std::string& text)
{
  try {
    parse_json_strict(text, "plan.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(UtilJsonStrict, ParsesAWellFormedDocument)
{
  const auto doc = parse_json_strict(R"({"a": [1, {"b": 2}, {"b": 3}], "c": {"b": 4}})", "x");
  EXPECT_EQ(doc["a"][2]["b"], 3);
  EXPECT_EQ(doc["c"]["b"], 4); // the same name in different objects is no duplicate
}

TEST(UtilJsonStrict, RefusesADuplicatedMemberNamingItsPath)
{
  const auto top = error_of(R"({"changes": [], "verdict": "helps", "changes": [{"key": "x"}]})");
  EXPECT_NE(top.find("plan.json"), std::string::npos) << top;
  EXPECT_NE(top.find("member /changes appears twice"), std::string::npos) << top;
  const auto nested = error_of(R"({"changes": [{"key": "a"}, {"key": "b", "target": "1", "target": "2"}]})");
  EXPECT_NE(nested.find("member /changes/1/target appears twice"), std::string::npos) << nested;
  const auto escaped = error_of(R"({"a/b": {"x": 1, "x": 2}})");
  EXPECT_NE(escaped.find("member /a~1b/x appears twice"), std::string::npos) << escaped;
}

TEST(UtilJsonStrict, SyntaxErrorNamesLineAndColumn)
{
  const auto e = error_of("{\n  \"a\": 1,\n  oops\n}");
  EXPECT_NE(e.find("plan.json:3:3"), std::string::npos) << e;
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
}

} // namespace
} // namespace tw
