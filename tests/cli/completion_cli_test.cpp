// Shell completion, generated from the CLI definition: every visible command and option is
// there, hidden ones are not, and --profile/--policy complete to the names in the data dir.
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <utility>
#include <vector>

namespace tw::test {
namespace {

RunResult tw(const std::vector<std::string>& args)
{
  std::vector<std::string> argv = { required_env("TW_ADVISOR_BIN") };
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, { "TW_ADVISOR_DATA_DIR=" + required_env("TW_SOURCE_DIR") });
}

TEST(CompletionCli, ProfileAndPolicyNamesComeFromTheDataDir)
{
  const auto profiles = tw({ "completion", "names", "profiles" });
  ASSERT_EQ(profiles.exit_code, 0) << profiles.err;
  EXPECT_EQ(profiles.out, "api-client\ncontainer-node\ndefault\nproxy\nweb-server\n");
  const auto policies = tw({ "completion", "names", "policies" });
  EXPECT_EQ(policies.out, "default\n");
  EXPECT_EQ(tw({ "completion", "names", "hosts" }).exit_code, 1);
}

TEST(CompletionCli, EachShellHasEveryCommandAndNoHiddenOne)
{
  for (const char* shell : { "bash", "zsh", "fish" }) {
    const auto r = tw({ "completion", shell });
    ASSERT_EQ(r.exit_code, 0) << shell << ": " << r.err;
    for (const char* visible : { "plan", "census", "check", "apply", "rollback", "status", "explain" }) {
      EXPECT_NE(r.out.find(visible), std::string::npos) << shell << " lacks " << visible;
    }
    for (const char* option : { "--all-netns", "--detailed-exitcode", "--canary-percent" }) {
      const std::string name = std::string(shell) == "fish" ? std::string("-l ") + (option + 2) : option;
      EXPECT_NE(r.out.find(name), std::string::npos) << shell << " lacks " << option;
    }
    EXPECT_NE(r.out.find("completion names"), std::string::npos) << shell;
    EXPECT_EQ(r.out.find("manpage"), std::string::npos) << shell << ": the hidden command is offered";
    EXPECT_EQ(r.out.find("--proc"), std::string::npos) << shell << ": check's hidden test option is offered";
  }
}

// Every `completion names KIND` a script runs names a kind the command accepts (zsh and fish once
// asked for "policys", so --policy completed to nothing there).
TEST(CompletionCli, EveryNamesCallTheScriptsMakeIsAccepted)
{
  for (const char* shell : { "bash", "zsh", "fish" }) {
    const auto r = tw({ "completion", shell });
    ASSERT_EQ(r.exit_code, 0) << shell << ": " << r.err;
    int calls = 0;
    const std::string call = "completion names ";
    for (auto at = r.out.find(call); at != std::string::npos; at = r.out.find(call, at + 1)) {
      const std::size_t start = at + call.size();
      const std::string kind = r.out.substr(start, r.out.find_first_of(" \n)\"'", start) - start);
      if (kind == "$1") {
        continue; // zsh's helper, called with the kinds below
      }
      ++calls;
      EXPECT_TRUE(kind == "profiles" || kind == "policies" || kind == "netns" || kind == "ids")
        << shell << " asks for " << kind;
      EXPECT_EQ(tw({ "completion", "names", kind }).exit_code, 0) << shell << ": " << kind;
    }
    const std::string helper = "_tw_advisor_names ";
    for (auto at = r.out.find(helper); at != std::string::npos; at = r.out.find(helper, at + 1)) {
      const std::size_t start = at + helper.size();
      const std::string kind = r.out.substr(start, r.out.find_first_of(" \n)'", start) - start);
      ++calls;
      EXPECT_TRUE(kind == "profiles" || kind == "policies") << shell << " asks for " << kind;
    }
    EXPECT_GE(calls, 4) << shell << ": --profile, --policy, --netns and explain complete to names";
  }
}

// A flag takes no value: zsh gets no value spec for it, fish no -x (exclusive value).
TEST(CompletionCli, FlagsTakeNoValue)
{
  const auto fish = tw({ "completion", "fish" });
  ASSERT_EQ(fish.exit_code, 0) << fish.err;
  EXPECT_NE(fish.out.find("-l yes -d "), std::string::npos) << fish.out;
  EXPECT_NE(fish.out.find("-l format -x -a 'text json'"), std::string::npos) << fish.out;
  const auto zsh = tw({ "completion", "zsh" });
  ASSERT_EQ(zsh.exit_code, 0) << zsh.err;
  const auto yes = zsh.out.find("'--yes[");
  ASSERT_NE(yes, std::string::npos) << zsh.out;
  const std::string line = zsh.out.substr(yes, zsh.out.find('\n', yes) - yes);
  EXPECT_EQ(line.back(), '\\') << line;
  EXPECT_NE(line.find("]' "), std::string::npos) << "no value spec after the description: " << line;
  EXPECT_NE(zsh.out.find("'1:completion:(bash zsh fish)'"), std::string::npos) << zsh.out;
}

TEST(CompletionCli, TheBashScriptParsesAndCompletesAProfile)
{
  const auto r = tw({ "completion", "bash" });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::filesystem::path script = std::filesystem::temp_directory_path() / "tw-completion-test.bash";
  std::ofstream(script) << r.out;
  // Sourced in bash with the words of `tw-advisor plan --profile api`, completion offers api-client.
  const std::string bin_dir = std::filesystem::path(required_env("TW_ADVISOR_BIN")).parent_path().string();
  const auto done = run({ "bash",
                          "-c",
                          "PATH=" + bin_dir + ":$PATH; source " + script.string() +
                            "; COMP_WORDS=(tw-advisor plan --profile api); COMP_CWORD=3; _tw_advisor; "
                            "printf '%s\\n' \"${COMPREPLY[@]}\"" },
                        { "TW_ADVISOR_DATA_DIR=" + required_env("TW_SOURCE_DIR") });
  std::filesystem::remove(script);
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.out.find("api-client"), std::string::npos) << done.out << done.err;
}

// The script in a temp file, for a shell to read.
std::filesystem::path script_file(const char* shell)
{
  const auto r = tw({ "completion", shell });
  EXPECT_EQ(r.exit_code, 0) << shell << ": " << r.err;
  const auto path =
    std::filesystem::temp_directory_path() / ("tw-completion-" + std::to_string(::getpid()) + "." + shell);
  std::ofstream(path) << r.out;
  return path;
}

// Each shell parses its own script (scripts/setup installs zsh and fish for this): a quote in a
// description or a bracket left open would break completion for the whole command.
TEST(CompletionCli, EachShellParsesItsScript)
{
  const std::pair<const char*, std::vector<std::string>> checks[] = {
    { "bash", { "bash", "-n" } },
    { "zsh", { "zsh", "-n" } },
    { "fish", { "fish", "--no-execute" } },
  };
  for (const auto& [shell, argv] : checks) {
    const auto path = script_file(shell);
    std::vector<std::string> cmd = argv;
    cmd.push_back(path.string());
    const auto r = run(cmd);
    std::filesystem::remove(path);
    EXPECT_EQ(r.exit_code, 0) << shell << " cannot parse its script: " << r.err;
  }
}

// Descriptions keep their apostrophes and colons, quoted for each shell (they were dropped).
TEST(CompletionCli, DescriptionsAreQuotedNotCut)
{
  const auto zsh = tw({ "completion", "zsh" });
  EXPECT_NE(zsh.out.find("every namespace'\\''s sockets"), std::string::npos) << zsh.out;
  EXPECT_NE(zsh.out.find("[With --all-netns: auto"), std::string::npos) << zsh.out;
  const auto fish = tw({ "completion", "fish" });
  EXPECT_NE(fish.out.find("every namespace\\'s sockets"), std::string::npos) << fish.out;
}

// explain completes to the explanation ids, a set-valued option to its words, --netns to the
// named namespaces; commands that take no operands offer no files in zsh.
TEST(CompletionCli, IdsChoicesAndNamespacesComplete)
{
  const std::string bin_dir = std::filesystem::path(required_env("TW_ADVISOR_BIN")).parent_path().string();
  const auto bash = script_file("bash");
  const auto complete = [&](const std::string& words, int cword) {
    const auto r = run({ "bash",
                         "-c",
                         "PATH=" + bin_dir + ":$PATH; source " + bash.string() + "; COMP_WORDS=(" + words +
                           "); COMP_CWORD=" + std::to_string(cword) +
                           "; _tw_advisor; printf '%s\\n' \"${COMPREPLY[@]}\"" });
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(complete("tw-advisor explain ports-ex", 2), "ports-exhausted\n");
  EXPECT_EQ(complete("tw-advisor plan --socket-reader bpf-", 3), "bpf-walk\nbpf-iter\n");
  EXPECT_EQ(complete("tw-advisor census --format j", 3), "json\n");
  std::filesystem::remove(bash);

  // What --netns completes to is what `ip netns` lists: the files in /run/netns.
  std::string expected;
  std::error_code ec;
  std::vector<std::string> named;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    named.push_back(e.path().filename().string());
  }
  std::sort(named.begin(), named.end());
  for (const auto& n : named) {
    expected += n + "\n";
  }
  EXPECT_EQ(tw({ "completion", "names", "netns" }).out, expected);
  const auto ids = tw({ "completion", "names", "ids" });
  EXPECT_NE(ids.out.find("\nports-exhausted\n"), std::string::npos) << ids.out;
  EXPECT_NE(ids.out.find("\ntrailing-comment\n"), std::string::npos) << ids.out;

  const auto zsh = tw({ "completion", "zsh" }).out;
  const auto plan = zsh.find("    (plan)");
  const auto check = zsh.find("    (check)");
  ASSERT_NE(plan, std::string::npos);
  ASSERT_NE(check, std::string::npos);
  const std::string plan_case = zsh.substr(plan, zsh.find(";;", plan) - plan);
  EXPECT_EQ(plan_case.find("'*:file:_files'"), std::string::npos)
    << "plan takes no file operands: " << plan_case;
  EXPECT_NE(plan_case.find(":socket-reader:(auto bpf-walk bpf-iter sock-diag)"), std::string::npos)
    << plan_case;
  EXPECT_NE(plan_case.find(":namespace:_tw_advisor_netns"), std::string::npos) << plan_case;
  const std::string check_case = zsh.substr(check, zsh.find(";;", check) - check);
  EXPECT_NE(check_case.find("'*:file:_files'"), std::string::npos) << check_case;
}

} // namespace
} // namespace tw::test
