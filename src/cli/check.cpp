#include "cli/commands.hpp"

namespace tw::cli {

// Placeholder until the subcommand lands: registers nothing, so the CLI says it is unknown.
void add_check_command(CLI::App& /*app*/, int& /*exit_code*/) {}

} // namespace tw::cli
