#include "cli/hints.hpp"

#include "apply/engine.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <unistd.h>

namespace tw::cli {

namespace {

// "tw-advisor VERB [--netns N] [--root R] [--state-dir S]": a command acting where a hint was made.
std::string command_here(std::string_view verb,
                         const std::string& root,
                         const std::string& state_dir,
                         const std::string& netns)
{
  std::string out = "tw-advisor " + std::string(verb);
  if (!netns.empty()) {
    out += " --netns " + shell_word(netns);
  }
  return out + target_args(root, state_dir);
}

} // namespace

std::string rollback_command(const std::string& root, const std::string& state_dir, const std::string& netns)
{
  return command_here("rollback", root, state_dir, netns);
}

std::string with_rollback_command(std::string note,
                                  const std::string& root,
                                  const std::string& state_dir,
                                  const std::string& netns)
{
  const std::string plain = "`tw-advisor rollback`";
  if (const auto at = note.find(plain); at != std::string::npos) {
    note.replace(at, plain.size(), "`" + rollback_command(root, state_dir, netns) + "`");
  }
  // A plan is asked for where the hint was made: the same --netns, tree and state dir.
  const std::string plan = "`tw-advisor plan`";
  const std::string there = "`" + command_here("plan", root, state_dir, netns) + "`";
  for (auto at = note.find(plan); at != std::string::npos; at = note.find(plan, at + there.size())) {
    note.replace(at, plan.size(), there);
  }
  return note;
}

void with_rollback_commands(Plan& plan,
                            const std::string& root,
                            const std::string& state_dir,
                            const std::string& netns)
{
  for (auto& reason : plan.reasons) {
    reason = with_rollback_command(std::move(reason), root, state_dir, netns);
  }
  for (auto& finding : plan.findings) {
    finding.summary = with_rollback_command(std::move(finding.summary), root, state_dir, netns);
  }
}

SleepFn window_sleeper(std::string what, double window_seconds)
{
  if (::isatty(STDERR_FILENO) == 0) {
    return sleep_for_real;
  }
  using namespace std::chrono;
  // Shared by the copies of the SleepFn: the window starts at the first call.
  auto first = std::make_shared<std::optional<steady_clock::time_point>>();
  const auto total = static_cast<long long>(std::ceil(window_seconds));
  return [what = std::move(what), first, total](milliseconds duration) {
    const auto start = steady_clock::now();
    if (!first->has_value()) {
      *first = start;
    }
    const auto end = start + duration;
    for (auto now = start; now < end; now = steady_clock::now()) {
      const auto done = std::min<long long>(duration_cast<seconds>(now - **first).count(), total);
      std::fputs(fmt::format("\rtw-advisor: {} {}/{} s\x1b[K", what, done, total).c_str(), stderr);
      std::this_thread::sleep_for(std::min<steady_clock::duration>(seconds(1), end - now));
    }
    std::fputs("\r\x1b[K", stderr);
  };
}

} // namespace tw::cli
