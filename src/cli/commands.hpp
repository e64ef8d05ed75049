#pragma once

#include <CLI/CLI.hpp>

namespace tw::cli {

// Each subcommand registers itself on the top-level app. Its callback stores the process
// exit code in exit_code; errors that stop the run are thrown as tw::Error.
void add_census_command(CLI::App& app, int& exit_code);
// `plan`: the dry run.
void add_plan_command(CLI::App& app, int& exit_code);
// `check`: the sysctl.d pre-check hook.
void add_check_command(CLI::App& app, int& exit_code);
// `apply`: the safe writer.
void add_apply_command(CLI::App& app, int& exit_code);
// `rollback`: undoes the last apply.
void add_rollback_command(CLI::App& app, int& exit_code);
// `status`: the last apply and drift since.
void add_status_command(CLI::App& app, int& exit_code);
// `monitor`: the long-running observer writing Prometheus metrics.
void add_monitor_command(CLI::App& app, int& exit_code);
// `explain ID`: what an id the tool reports means (doc/explain.md).
void add_explain_command(CLI::App& app, int& exit_code);
// `completion bash` and the hidden `manpage`, generated from the commands registered before it.
void add_docs_commands(CLI::App& app, int& exit_code);

} // namespace tw::cli
