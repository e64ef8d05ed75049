// The rollback command shown to the operator: pasted later, often from another directory.
#include "cli/hints.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace tw::test {
namespace {

TEST(CliHints, RollbackCommandUsesAbsolutePaths)
{
  const auto cwd = std::filesystem::current_path();
  EXPECT_EQ(cli::rollback_command("/", "", ""), "tw-advisor rollback");
  EXPECT_EQ(cli::rollback_command("", "", ""), "tw-advisor rollback");
  EXPECT_EQ(cli::rollback_command("root", "./state", ""),
            "tw-advisor rollback --root " + (cwd / "root").string() + " --state-dir " +
              (cwd / "state").string());
  EXPECT_EQ(cli::rollback_command("/srv/my root", "", ""), "tw-advisor rollback --root '/srv/my root'");
}

TEST(CliHints, NoteGetsTheCommandForTheseOptions)
{
  EXPECT_EQ(cli::with_rollback_command("run `tw-advisor rollback` first", "/srv/r", "/srv/s", ""),
            "run `tw-advisor rollback --root /srv/r --state-dir /srv/s` first");
  EXPECT_EQ(cli::with_rollback_command("nothing to do", "/srv/r", "", ""), "nothing to do");
}

// A hint about another namespace must act on it: rollback and plan get the same --netns.
TEST(CliHints, HintsForANamespaceCarryItsNetns)
{
  EXPECT_EQ(cli::rollback_command("/", "/var/lib/tw-advisor/netns-4026532451", "pod a"),
            "tw-advisor rollback --netns 'pod a' --state-dir /var/lib/tw-advisor/netns-4026532451");
  EXPECT_EQ(
    cli::with_rollback_command("`tw-advisor plan` shows what this host needs now; `tw-advisor rollback` "
                               "restores them; `tw-advisor plan` again after",
                               "/",
                               "",
                               "web"),
    "`tw-advisor plan --netns web` shows what this host needs now; `tw-advisor rollback --netns web` "
    "restores them; `tw-advisor plan --netns web` again after");
}

// status's drift hint read one tree and state dir: the plan it points to must read them too.
TEST(CliHints, ThePlanHintCarriesTheTreeAndStateDir)
{
  EXPECT_EQ(
    cli::with_rollback_command("`tw-advisor plan` shows what this host needs now", "/srv/r", "/srv/s", ""),
    "`tw-advisor plan --root /srv/r --state-dir /srv/s` shows what this host needs now");
  EXPECT_EQ(cli::with_rollback_command("`tw-advisor plan` now", "/", "", ""), "`tw-advisor plan` now");
}

} // namespace
} // namespace tw::test
