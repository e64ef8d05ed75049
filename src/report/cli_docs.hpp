#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace tw::report {

// The man page and the shell completion scripts, generated from the CLI definition itself, so
// every subcommand and option the binary accepts is documented and completed, and nothing else
// (hidden options, in the empty group, stay hidden). Pure: they print nothing.

// tw-advisor(8) in roff: every visible command and option with its help and footer, the exit
// codes, the environment, the files and every explanation (`tw-advisor explain`).
std::string manpage(const CLI::App& app);

// Where the package installs the documentation (the FILES section says so too).
inline constexpr const char* k_installed_doc_dir = "/usr/share/doc/tw-advisor";

// text with every "doc/NAME.md" (or doc/NAME.yml) that starts a word naming doc_dir/NAME.md
// instead, so the help, the man page and explain point to the installed file, not to the source.
std::string with_doc_dir(std::string_view text, const std::string& doc_dir);

enum class Shell
{
  bash,
  zsh,
  fish,
};

// The completion script for shell. --profile and --policy complete to the names
// `tw-advisor completion names profiles|policies` prints, other values to files or directories.
std::string completion_script(const CLI::App& app, Shell shell);

} // namespace tw::report
