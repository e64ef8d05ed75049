#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace tw::test {

// What a finished child process left behind.
struct RunResult
{
  int exit_code = -1; // exit status, or 128+signal when killed
  bool timed_out = false;
  std::string out; // stdout
  std::string err; // stderr
};

// Runs argv (argv[0] searched in PATH) with extra "NAME=value" environment entries and
// stdin_data on its standard input; kills it (SIGKILL, whole process group) after timeout.
RunResult run(const std::vector<std::string>& argv,
              const std::vector<std::string>& extra_env = {},
              const std::string& stdin_data = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Like run, but fails the current test (ADD_FAILURE with argv and stderr) unless it exits 0.
RunResult run_ok(const std::vector<std::string>& argv,
                 const std::vector<std::string>& extra_env = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(120));

// The value of an environment variable the test harness sets (TW_ADVISOR_BIN ...);
// fails loudly (throws) when it is not set, so a test never silently runs the wrong binary.
std::string required_env(const char* name);

// argv joined with spaces, for messages.
std::string join_argv(const std::vector<std::string>& argv);

} // namespace tw::test
