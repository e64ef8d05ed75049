// --help laid out in the terminal's width: what fits is kept as written, what does not is reflowed
// with continuation lines under their column.
#include "cli/help_format.hpp"
#include "report/cli_docs.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tw::test {
namespace {

using tw::cli::HelpFormatter;
using tw::cli::reflow_help;

std::size_t widest_line(const std::string& text)
{
  std::size_t widest = 0;
  for (const auto line : split(text, '\n')) {
    widest = std::max(widest, visible_width(line));
  }
  return widest;
}

TEST(CliHelpFormat, AParagraphThatFitsKeepsTheAuthorsLineBreaks)
{
  EXPECT_EQ(reflow_help("one two\nthree", 20, "", ""), "one two\nthree\n");
  EXPECT_EQ(reflow_help("a\n\nb", 20, "> ", "  "), "> a\n\n  b\n");
}

TEST(CliHelpFormat, AParagraphWithALineTooLongIsReflowedAsAWhole)
{
  EXPECT_EQ(reflow_help("aaa bbb ccc ddd eee\nfff", 12, "", ""), "aaa bbb ccc\nddd eee fff\n");
  // The prefixes count: "- " leaves 10 columns of a 12-column line.
  EXPECT_EQ(reflow_help("aaa bbb ccc", 12, "- ", "  "), "- aaa bbb\n  ccc\n");
}

TEST(CliHelpFormat, ATableRowHangsUnderItsTextColumn)
{
  const std::string row = "  helps     outbound TIME_WAIT holds a large share of the ports\n"
                          "            towards some destination";
  EXPECT_EQ(reflow_help(row, 40, "", ""),
            "  helps     outbound TIME_WAIT holds a\n"
            "            large share of the ports\n"
            "            towards some destination\n");
  // The next row starts its own block: it is not joined to the one above.
  EXPECT_EQ(reflow_help("  a     one\n  b     two", 40, "", ""), "  a     one\n  b     two\n");
}

TEST(CliHelpFormat, AnIndentedExampleIsNeverJoinedToItsNeighbours)
{
  const std::string text = "Examples:\n  tw-advisor plan\n  tw-advisor plan --sample 5";
  EXPECT_EQ(reflow_help(text, 80, "", ""), text + "\n");
  // Too narrow for the paragraph: it is reflowed, the example lines stay whole.
  EXPECT_EQ(reflow_help("Run these commands\n  tw plan", 14, "", ""), "Run these\ncommands\n  tw plan\n");
}

TEST(CliHelpFormat, EveryLineOfACommandsHelpFitsTheWidth)
{
  CLI::App app{ "A tool whose description is long enough that it must be wrapped at forty columns.", "tool" };
  app.formatter(std::make_shared<HelpFormatter>(40, ""));
  auto* sub = app.add_subcommand("run", "Runs the thing described here at some length, more than fits");
  std::string value;
  sub->add_option("--value", value, "An option whose description also needs more than one line to fit");
  sub->add_option("--hidden", value, "not shown")->group("");
  sub->footer("Notes:\n  first   a row of a table whose text is long and has to hang\n\nA last paragraph.");

  const std::string top = app.help();
  EXPECT_LE(widest_line(top), 40U) << top;
  EXPECT_NE(top.find("  run"), std::string::npos) << top;

  const std::string help = sub->help();
  EXPECT_LE(widest_line(help), 40U) << help;
  EXPECT_NE(help.find("--value"), std::string::npos) << help;
  EXPECT_EQ(help.find("--hidden"), std::string::npos) << help;
  // The hidden group leaves no run of blank lines before the footer.
  EXPECT_EQ(help.find("\n\n\n"), std::string::npos) << help;
  EXPECT_NE(help.find("Notes:\n  first   a row"), std::string::npos) << help;
}

// Installed, the help names the installed docs: every doc/NAME.md that starts a word, nothing else.
TEST(CliHelpFormat, DocPathsNameTheInstalledFiles)
{
  const std::string dir = "/usr/share/doc/tw-advisor";
  EXPECT_EQ(report::with_doc_dir("Details: doc/apply.md.", dir),
            "Details: /usr/share/doc/tw-advisor/apply.md.");
  EXPECT_EQ(report::with_doc_dir("(doc/plan-schema.md) and `doc/probe.md`", dir),
            "(/usr/share/doc/tw-advisor/plan-schema.md) and `/usr/share/doc/tw-advisor/probe.md`");
  EXPECT_EQ(report::with_doc_dir("rules: doc/monitor-alerts.yml", dir),
            "rules: " + dir + "/monitor-alerts.yml");
  EXPECT_EQ(report::with_doc_dir("doc/json.md\ndoc/netns.md", dir),
            "/usr/share/doc/tw-advisor/json.md\n/usr/share/doc/tw-advisor/netns.md");
  // Not a doc reference: another directory's doc/, no .md, no name.
  for (const char* kept : { "/usr/share/doc/tw-advisor/", "srcdoc/x.md", "doc/x.txt", "doc/.md", "doc/" }) {
    EXPECT_EQ(report::with_doc_dir(kept, dir), kept);
  }

  CLI::App app{ "A tool (doc/tool.md).", "tool" };
  app.formatter(std::make_shared<HelpFormatter>(80, dir));
  std::string value;
  app.add_option("--value", value, "See doc/value.md");
  app.footer("Docs: doc/apply.md");
  const std::string help = app.help();
  for (const char* name : { "tool.md", "value.md", "apply.md" }) {
    EXPECT_NE(help.find(dir + "/" + name), std::string::npos) << name << "\n" << help;
  }
  EXPECT_EQ(help.find(" doc/"), std::string::npos) << help;
}

} // namespace
} // namespace tw::test
