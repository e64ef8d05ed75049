#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace tw::report {

// The commands and options a user sees: those in a group (CLI11's empty group hides them).
inline std::vector<const CLI::App*> visible_subcommands(const CLI::App& app)
{
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

inline std::vector<const CLI::Option*> visible_options(const CLI::App& app)
{
  return app.get_options([](const CLI::Option* opt) { return !opt->get_group().empty(); });
}

inline bool is_help_option(const CLI::Option& opt)
{
  return opt.get_lnames().size() == 1 && opt.get_lnames()[0] == "help";
}

// The value an option takes as an operator reads it: the name its definition gives it (FILE,
// NAME|PATH|PID), a set's choices ({text,json}), VALUE for a generic one; empty for a flag and for
// a positional (its name says it). Never CLI11's generic type names (TEXT, UINT) or its
// validators' texts (":NUMBER in 0 to 100"), which --help and the man page would otherwise show.
std::string value_label(const CLI::Option& opt);

} // namespace tw::report
