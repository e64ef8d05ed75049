#pragma once

#include <string>

namespace tw::cli {

// The rollback command for the --root/--state-dir a command was given, ready to paste.
std::string rollback_command(const std::string& root, const std::string& state_dir);

// note with the engine's plain "`tw-advisor rollback`" replaced by the command for these options.
std::string with_rollback_command(std::string note, const std::string& root, const std::string& state_dir);

} // namespace tw::cli
