#include "cli/commands.hpp"

namespace tw::cli {

// Placeholder until the subcommands land: registers nothing, so the CLI says they are unknown.
void add_apply_commands(CLI::App& /*app*/, int& /*exit_code*/) {}

} // namespace tw::cli
