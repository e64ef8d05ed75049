// Every command's --help as a new user reads it in a pipe or an 80-column terminal: it fits, and
// an option's value is named in words, not by the parser library's type names.
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tw::test {
namespace {

const std::vector<std::string> k_commands = { "plan",  "apply",   "rollback", "status",    "census",
                                              "check", "monitor", "explain",  "completion" };

RunResult help_of(const std::string& command)
{
  std::vector<std::string> argv = { required_env("TW_ADVISOR_BIN") };
  if (!command.empty()) {
    argv.push_back(command);
  }
  argv.emplace_back("--help");
  return run(argv);
}

TEST(HelpCli, EveryLineFits80ColumnsUnlessItIsOneUnbreakableWord)
{
  for (const auto& command : k_commands) {
    const auto r = help_of(command);
    ASSERT_EQ(r.exit_code, 0) << command << ": " << r.err;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      const auto text = line.find_first_not_of(' ');
      const bool one_word = text == std::string::npos || line.find(' ', text) == std::string::npos;
      EXPECT_TRUE(line.size() <= 80U || one_word) << command << " --help: " << line.size() << " columns:\n"
                                                  << line;
    }
  }
}

// CLI11's own labels: a generic type name after an option ("--out TEXT"), a validator's text after
// a colon ("P:NUMBER in 0 to 100", "TEXT:{text,json}"), Needs/Excludes lists. (No <regex>: GCC 12
// warns inside it under the sanitizer build's -O1.)
bool has_parser_label(const std::string& line)
{
  for (const char* type : { "TEXT", "UINT", "INT", "FLOAT", "NUMBER", "BOOLEAN" }) {
    for (auto at = line.find(std::string(" ") + type); at != std::string::npos;
         at = line.find(std::string(" ") + type, at + 1)) {
      const auto before = line.rfind(' ', at - 1);
      const auto end = at + 1 + std::string(type).size();
      const bool word_ends = end == line.size() || line[end] == ' ' || line[end] == ':' || line[end] == '=';
      if (before != std::string::npos && line.compare(before + 1, 1, "-") == 0 && word_ends) {
        return true; // "--name TYPE"
      }
    }
  }
  return line.find(":NUMBER") != std::string::npos || line.find(":{") != std::string::npos ||
         line.find("Needs: -") != std::string::npos || line.find("Excludes: -") != std::string::npos;
}

TEST(HelpCli, OptionValuesAreNamedInWordsNotByTheParsersTypes)
{
  // The labels this test refuses, as CLI11 printed them, are seen; words are not.
  EXPECT_TRUE(has_parser_label("  --out TEXT                  Also write the JSON plan"));
  EXPECT_TRUE(has_parser_label("  --canary-percent P:NUMBER in 0 to 100 Needs: --canary"));
  EXPECT_TRUE(has_parser_label("  --format TEXT:{text,json}   Output format"));
  EXPECT_FALSE(has_parser_label("  --out FILE                  Also write the TEXT of it"));
  for (const auto& command : k_commands) {
    const auto r = help_of(command);
    ASSERT_EQ(r.exit_code, 0) << command << ": " << r.err;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_FALSE(has_parser_label(line)) << command << " --help: " << line;
      // Every option that takes a value names it (FILE, SECONDS ...): VALUE is the fallback.
      EXPECT_EQ(line.find(" VALUE"), std::string::npos) << command << " --help: " << line;
    }
  }
  // A set of values shows its choices, a positional its name only.
  const auto plan = help_of("plan");
  EXPECT_NE(plan.out.find("--format {text,json}"), std::string::npos) << plan.out;
  const auto check = help_of("check");
  EXPECT_NE(check.out.find("  FILE ..."), std::string::npos) << check.out;
  EXPECT_EQ(check.out.find("REQUIRED"), std::string::npos) << check.out;
}

} // namespace
} // namespace tw::test
