// Text wrapped to the terminal: at spaces, hanging indents, long words and `commands` whole.
#include "util/wrap.hpp"

#include <gtest/gtest.h>

namespace tw::test {
namespace {

TEST(UtilWrap, BreaksAtSpacesWithAHangingIndent)
{
  EXPECT_EQ(wrap_text("aaa bbb ccc ddd", 9, "- ", "  "), "- aaa bbb\n  ccc ddd\n");
  EXPECT_EQ(wrap_text("", 10, "- ", "  "), "- \n");
  EXPECT_EQ(wrap_text("one\ntwo", 80, "", ""), "one\ntwo\n");
}

TEST(UtilWrap, ALongWordOrACommandIsNeverCut)
{
  EXPECT_EQ(wrap_text("x /a/very/long/path/name y", 10, "", ""), "x\n/a/very/long/path/name\ny\n");
  EXPECT_EQ(wrap_text("run `tw-advisor apply --plan p.json` now", 20, "", ""),
            "run\n`tw-advisor apply --plan p.json`\nnow\n");
  // A stray backtick opens no span: the rest still wraps.
  EXPECT_EQ(wrap_text("value `1 is odd here and there", 12, "", ""), "value `1 is\nodd here and\nthere\n");
}

// "fix it, or apply with\n--no-persist." reads like a command line: the option keeps its word.
TEST(UtilWrap, AnOptionNeverStartsALine)
{
  EXPECT_EQ(wrap_text("or apply with --no-persist now", 17, "", ""), "or apply\nwith --no-persist\nnow\n");
  // Never over the width for it: where the two do not fit on one line, the option goes alone.
  EXPECT_EQ(wrap_text("or apply with --no-persist now", 16, "", ""), "or apply with\n--no-persist now\n");
  EXPECT_EQ(wrap_text("--first stays first", 10, "", ""), "--first\nstays\nfirst\n");
}

TEST(UtilWrap, ColourAndUtf8TakeTheirVisibleWidth)
{
  EXPECT_EQ(visible_width("\033[1;31merror\033[0m"), 5U);
  EXPECT_EQ(visible_width("caf\xC3\xA9"), 4U);
  // The painted prefix counts as its 7 visible columns, not its bytes.
  EXPECT_EQ(wrap_text("aa bb", 13, "\033[2mwarning\033[0m ", "        "), "\033[2mwarning\033[0m aa bb\n");
  EXPECT_EQ(wrap_text("aa bb", 12, "\033[2mwarning\033[0m ", "        "),
            "\033[2mwarning\033[0m aa\n        bb\n");
}

} // namespace
} // namespace tw::test
