// Every command's --help as a new user reads it in a pipe or an 80-column terminal: it fits, and
// an option's value is named in words, not by the parser library's type names.
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <regex>
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

TEST(HelpCli, OptionValuesAreNamedInWordsNotByTheParsersTypes)
{
  // CLI11's own labels: generic type names, a validator's text after a colon, Needs/Excludes lists.
  const std::regex parser_label(
    R"((^|\s)-{1,2}[a-z-]+ (TEXT|UINT|INT|FLOAT|NUMBER|BOOLEAN)\b|[A-Z]:(NUMBER|\{)|\b(Needs|Excludes): -)");
  for (const auto& command : k_commands) {
    const auto r = help_of(command);
    ASSERT_EQ(r.exit_code, 0) << command << ": " << r.err;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_FALSE(std::regex_search(line, parser_label)) << command << " --help: " << line;
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
