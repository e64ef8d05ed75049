#pragma once

#include "facts/counters.hpp"
#include "model/plan.hpp"

#include <string>

namespace tw::cli {

// The rollback command for the --netns/--root/--state-dir a command was given, ready to paste.
std::string rollback_command(const std::string& root, const std::string& state_dir, const std::string& netns);

// note with the engine's plain "`tw-advisor rollback`" replaced by the command for these options,
// and "`tw-advisor plan`" given the same --netns, --root and --state-dir (a hint must act on the
// namespace and tree it is about).
std::string with_rollback_command(std::string note,
                                  const std::string& root,
                                  const std::string& state_dir,
                                  const std::string& netns);

// with_rollback_command() on every reason and finding of plan.
void with_rollback_commands(Plan& plan,
                            const std::string& root,
                            const std::string& state_dir,
                            const std::string& netns);

// The SleepFn of a --sample window of window_seconds: on a terminal it counts the seconds on
// stderr ("tw-advisor: watching the counters and connect() 3/5 s"), so a long window is not silent;
// elsewhere it only sleeps. The window may be slept in several calls (plan counts connections
// between them): the count runs from the first call to window_seconds.
SleepFn window_sleeper(std::string what, double window_seconds);

} // namespace tw::cli
