// `tw-advisor explain`: what an operator reads at 3 a.m. after a plan or check names an id.
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tw::test {
namespace {

RunResult explain(const std::vector<std::string>& args)
{
  std::vector<std::string> argv = { required_env("TW_ADVISOR_BIN"), "explain" };
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

void expect_fits_80_columns(const std::string& text)
{
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80U) << line;
  }
}

TEST(ExplainCli, AFindingIsExplainedInFull)
{
  const auto r = explain({ "ports-exhausted" });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("finding ports-exhausted\n\nWhat it means: ", 0), 0U) << r.out;
  EXPECT_NE(r.out.find("\nKernel: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nWhat to do: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("EADDRNOTAVAIL"), std::string::npos) << r.out;
  expect_fits_80_columns(r.out);
}

TEST(ExplainCli, AnIdOfTwoKindsShowsBothUnlessOneIsNamed)
{
  const auto both = explain({ "timestamps-off" });
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_NE(both.out.find("finding timestamps-off\n"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("check timestamps-off\n"), std::string::npos) << both.out;
  const auto one = explain({ "check/timestamps-off", "helps" });
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.find("finding timestamps-off"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("verdict helps\n"), std::string::npos) << one.out;
}

TEST(ExplainCli, ATypoSuggestsTheIdAndExitsOne)
{
  const auto r = explain({ "ports-exausted" });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("explain ports-exausted: no such id (did you mean ports-exhausted?)"),
            std::string::npos)
    << r.err;
  EXPECT_EQ(explain({}).exit_code, 1);
}

TEST(ExplainCli, ListFitsTheTerminalAndHoldsEveryKind)
{
  const auto r = explain({ "--list" });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* kind : { "verdict\n", "prerequisite\n", "finding\n", "advice\n", "check\n" }) {
    EXPECT_NE(r.out.find(kind), std::string::npos) << kind;
  }
  EXPECT_NE(r.out.find("\n  ports-exhausted "), std::string::npos) << r.out;
  expect_fits_80_columns(r.out);
}

TEST(ExplainCli, TheManPageCarriesTheSameTexts)
{
  const auto man = run({ required_env("TW_ADVISOR_BIN"), "manpage" });
  ASSERT_EQ(man.exit_code, 0) << man.err;
  EXPECT_NE(man.out.find(".SH EXPLANATIONS"), std::string::npos);
  EXPECT_NE(man.out.find(".SS finding ports\\-exhausted"), std::string::npos);
}

} // namespace
} // namespace tw::test
