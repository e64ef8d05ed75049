#pragma once

#include "facts/counters.hpp"

#include <string>

namespace tw::cli {

// The rollback command for the --root/--state-dir a command was given, ready to paste.
std::string rollback_command(const std::string& root, const std::string& state_dir);

// note with the engine's plain "`tw-advisor rollback`" replaced by the command for these options.
std::string with_rollback_command(std::string note, const std::string& root, const std::string& state_dir);

// The SleepFn of a --sample window: on a terminal it counts the seconds down on stderr
// ("tw-advisor: watching 3/5 s (probe attached)"), so a long window is not silent; elsewhere it
// only sleeps.
SleepFn window_sleeper(std::string what);

} // namespace tw::cli
