// doc/explain.md, embedded in the binary: every id the code can report has its explanation, and
// no explanation is left for an id the code no longer has.
#include "model/explanations.hpp"
#include "model/plan.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p)
{
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One pattern of the shapes the code builds ids with, matched by hand (std::regex trips GCC 12's
// -Wmaybe-uninitialized in its own headers under the sanitizer build). In a pattern, ' ' matches
// any run of whitespace (also none), '@' one lowercase letter, '$' captures an id [a-z0-9-]+ and
// '%' a sysctl-like id [a-z_]+; every other character matches itself.
std::vector<std::string> match_at(const std::string& text, std::size_t at, const std::string& pattern)
{
  std::vector<std::string> captures;
  std::size_t t = at;
  for (const char p : pattern) {
    if (p == ' ') {
      while (t < text.size() && std::isspace(static_cast<unsigned char>(text[t])) != 0) {
        ++t;
      }
      continue;
    }
    if (p == '$' || p == '%') {
      const auto in_id = [p](char c) {
        const bool lower = c >= 'a' && c <= 'z';
        return p == '$' ? lower || (c >= '0' && c <= '9') || c == '-' : lower || c == '_';
      };
      const std::size_t begin = t;
      while (t < text.size() && in_id(text[t])) {
        ++t;
      }
      if (t == begin) {
        return {};
      }
      captures.push_back(text.substr(begin, t - begin));
      continue;
    }
    const bool ok = t < text.size() && (p == '@' ? text[t] >= 'a' && text[t] <= 'z' : text[t] == p);
    if (!ok) {
      return {};
    }
    ++t;
  }
  return captures;
}

// "KIND ID" for every id the sources under dir construct, by the patterns the code uses.
std::set<std::string> ids_in(const fs::path& dir,
                             const std::string& kind,
                             const std::vector<std::string>& patterns)
{
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".cpp") {
      continue;
    }
    const std::string text = slurp(entry.path());
    for (const auto& pattern : patterns) {
      for (std::size_t at = text.find(pattern.front()); at != std::string::npos;
           at = text.find(pattern.front(), at + 1)) {
        for (const auto& id : match_at(text, at, pattern)) { // both ids of `a ? "x" : "y"`
          out.insert(kind + " " + id);
        }
      }
    }
  }
  return out;
}

std::set<std::string> ids_in_code()
{
  const char* source = std::getenv("TW_SOURCE_DIR");
  if (source == nullptr) {
    throw std::runtime_error("TW_SOURCE_DIR is not set (ctest sets it)");
  }
  const fs::path src = fs::path(source) / "src";
  std::set<std::string> all;
  const auto add = [&all](const std::set<std::string>& some) { all.insert(some.begin(), some.end()); };
  add(ids_in(src / "policy", "finding", { R"(Finding f{ "$")", R"(f.id = "$")", R"({ "$", Severity::)" }));
  add(ids_in(src / "policy", "advice", { R"(Advice @{ "$")" }));
  add(ids_in(src / "policy", "prerequisite", { R"(Prerequisite p{ "%")" }));
  add(ids_in(src / "sysctld",
             "check",
             { R"(problem("$")", R"(? "$" : "$")", R"({ "$", Severity::)", R"(p.id = "$")" }));
  for (const Verdict v : { Verdict::helps,
                           Verdict::irrelevant,
                           Verdict::already_enabled,
                           Verdict::blocked,
                           Verdict::insufficient_evidence }) {
    all.insert(std::string("verdict ") + to_string(v));
  }
  return all;
}

TEST(ModelExplanations, EveryIdTheCodeReportsIsExplainedAndNothingElse)
{
  const std::set<std::string> code = ids_in_code();
  ASSERT_GT(code.size(), 60U) << "the patterns found too few ids: the code's shape changed";
  std::set<std::string> explained;
  for (const auto& e : explanations()) {
    EXPECT_TRUE(explained.insert(e.kind + " " + e.id).second) << "twice: " << e.kind << " " << e.id;
  }
  for (const auto& id : code) {
    EXPECT_TRUE(explained.count(id) == 1) << "no section \"## " << id << "\" in doc/explain.md";
  }
  for (const auto& id : explained) {
    EXPECT_TRUE(code.count(id) == 1) << "doc/explain.md explains \"" << id
                                     << "\", which the code never reports";
  }
}

TEST(ModelExplanations, EachHasItsThreeParagraphsWithinTheWidth)
{
  for (const auto& e : explanations()) {
    const auto means = e.body.find("What it means: ");
    const auto kernel = e.body.find("\n\nKernel: ");
    const auto todo = e.body.find("\n\nWhat to do: ");
    EXPECT_EQ(means, 0U) << e.kind << " " << e.id;
    EXPECT_NE(kernel, std::string::npos) << e.kind << " " << e.id;
    EXPECT_NE(todo, std::string::npos) << e.kind << " " << e.id;
    EXPECT_LT(kernel, todo) << e.kind << " " << e.id;
    std::istringstream lines(e.body);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_LE(line.size(), 78U) << e.kind << " " << e.id << ": " << line;
    }
  }
}

TEST(ModelExplanations, LookupByIdAndByKind)
{
  const auto both = find_explanations("timestamps-off");
  ASSERT_EQ(both.size(), 2U);
  const auto check = find_explanations("check/timestamps-off");
  ASSERT_EQ(check.size(), 1U);
  EXPECT_EQ(check[0]->kind, "check");
  EXPECT_TRUE(find_explanations("no-such-id").empty());
  EXPECT_TRUE(find_explanations("finding/tcp_timestamps").empty()) << "a prerequisite, not a finding";
}

TEST(ModelExplanations, AHeaderThatIsNotKindAndIdIsRefusedWithItsLine)
{
  try {
    parse_explanations("# Explanations\n\n## finding x\n\nWhat it means: y\n\n## findng z\n");
    FAIL() << "accepted a misspelt kind";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("doc/explain.md:7"), std::string::npos) << e.what();
  }
  const auto parsed = parse_explanations("## verdict helps\n\nWhat it means: a.\n\n## advice b\n\nc\n");
  ASSERT_EQ(parsed.size(), 2U);
  EXPECT_EQ(parsed[0].body, "What it means: a.\n");
  EXPECT_EQ(parsed[1].id, "b");
}

} // namespace
} // namespace tw::test
