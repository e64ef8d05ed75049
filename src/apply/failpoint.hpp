#pragma once

#include <string>
#include <vector>

namespace tw {

// A test hook, compiled in always: when the environment variable TW_ADVISOR_FAILPOINT names a step,
// the process kills itself with SIGKILL there, as a power cut or `kill -9` would. The live tests use
// it to prove that `rollback` restores the exact previous state from any point (doc/apply.md).
inline constexpr const char* k_failpoint_env = "TW_ADVISOR_FAILPOINT";

// The step names, in the order apply passes them.
const std::vector<std::string>& failpoint_names();

// Throws tw::Error when TW_ADVISOR_FAILPOINT is set to a name that is not a step, so a typo in a
// test cannot make it pass without ever crashing.
void check_failpoint_env();

// SIGKILLs the process when TW_ADVISOR_FAILPOINT equals name.
void failpoint(const char* name);

} // namespace tw
