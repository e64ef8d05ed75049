#pragma once

#include <CLI/CLI.hpp>

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

} // namespace tw::report
