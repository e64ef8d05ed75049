#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace tw::report {

// The man page and the shell completion scripts, generated from the CLI definition itself, so
// every subcommand and option the binary accepts is documented and completed, and nothing else
// (hidden options, in the empty group, stay hidden). Pure: they print nothing.

// tw-advisor(8) in roff: every visible command and option with its help and footer, the exit
// codes, the environment, the files and every explanation (`tw-advisor explain`).
std::string manpage(const CLI::App& app);

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
