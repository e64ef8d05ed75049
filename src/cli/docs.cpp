// `completion` and the hidden `manpage`: the scripts and the page are rendered by report/ from
// the CLI definition itself, so every subcommand and option the binary accepts is documented.
#include "cli/commands.hpp"
#include "config/data_dir.hpp"
#include "model/explanations.hpp"
#include "report/cli_docs.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tw::cli {

namespace {

// What a completion script offers, one a line: profile or policy names in the data dir
// ("api-client", ...) for --profile and --policy, the named network namespaces (ip netns, in
// /run/netns) for --netns, the explanation ids for explain. Nothing when there are none.
void print_names(const std::string& kind)
{
  if (kind == "netns") {
    std::error_code ec;
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
      names.insert(e.path().filename().string());
    }
    for (const auto& n : names) {
      std::printf("%s\n", n.c_str());
    }
    return;
  }
  if (kind == "ids") {
    std::set<std::string> seen;
    for (const auto& e : explanations()) {
      if (seen.insert(e.id).second) {
        std::printf("%s\n", e.id.c_str());
      }
    }
    return;
  }
  std::filesystem::path dir;
  try {
    dir = config::default_data_dir();
  } catch (const Error&) {
    return;
  }
  for (const auto& n : config::data_names(dir, kind)) {
    std::printf("%s\n", n.c_str());
  }
}

} // namespace

void add_docs_commands(CLI::App& app, int& exit_code)
{
  auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash, zsh, fish)");
  completion->footer("Install (the package installs all three):\n"
                     "  tw-advisor completion bash > /usr/share/bash-completion/completions/tw-advisor\n"
                     "  tw-advisor completion zsh > /usr/share/zsh/vendor-completions/_tw-advisor\n"
                     "  tw-advisor completion fish > /usr/share/fish/vendor_completions.d/tw-advisor.fish\n"
                     "--profile and --policy complete to the names in the data dir, --netns to `ip netns`\n"
                     "names, explain to the explanation ids, set values (--format) to their words, paths\n"
                     "to files.");
  completion->require_subcommand(1);
  const std::pair<const char*, report::Shell> shells[] = {
    { "bash", report::Shell::bash },
    { "zsh", report::Shell::zsh },
    { "fish", report::Shell::fish },
  };
  for (const auto& [name, shell] : shells) {
    auto* sub = completion->add_subcommand(name, std::string("Completion for ") + name);
    sub->callback([&app, &exit_code, shell = shell] {
      std::fputs(report::completion_script(app, shell).c_str(), stdout);
      exit_code = 0;
    });
  }
  // Hidden (empty group): what the completion scripts ask for --profile, --policy, --netns and
  // explain's ids.
  auto names_kind = std::make_shared<std::string>();
  auto* names = completion->add_subcommand("names", "What the scripts complete to, one a line")->group("");
  names->add_option("KIND", *names_kind)
    ->required()
    ->check(CLI::IsMember({ "profiles", "policies", "netns", "ids" }));
  names->callback([names_kind, &exit_code] {
    print_names(*names_kind);
    exit_code = 0;
  });
  // Hidden (empty group): the build runs it to write tw-advisor.8.
  auto* man = app.add_subcommand("manpage", "Print the tw-advisor(8) man page (roff)")->group("");
  man->callback([&app, &exit_code] {
    std::fputs(report::manpage(app).c_str(), stdout);
    exit_code = 0;
  });
}

} // namespace tw::cli
