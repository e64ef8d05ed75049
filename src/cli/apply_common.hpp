#pragma once

#include "apply/session.hpp"
#include "util/error.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace tw::cli {

// Where apply and rollback talk to the operator: one line per step on stdout (flushed, so other
// programs can follow them), or on stderr when stdout carries the JSON document; the watch as a
// progress line on stderr when that is a terminal; the question on the same stream as the lines.
class StepPrinter : public ApplyUi
{
public:
  // json_stdout: stdout is reserved for one JSON document.
  explicit StepPrinter(bool json_stdout);

  // Prints one line.
  void say(const std::string& line) override;
  // Asks on the terminal (stdin); true for y, Y or yes.
  bool confirm(const std::string& question) override;
  // Prints the preview's lines.
  void preview(const ApplyPreview& preview) override;
  // Ends a progress line, if one is showing.
  void end_progress();
  // The stream the lines go to (for a prompt).
  std::FILE* stream() const { return m_out; }
  // The steps said as "warning: ...", without that prefix, for a JSON document.
  const std::vector<std::string>& warnings() const { return m_warnings; }

  void step(const std::string& message) override;
  void watch_sample(const WatchSample& sample, std::chrono::seconds total) override;

private:
  std::FILE* m_out;
  bool m_progress = false;
  std::vector<std::string> m_warnings;
};

// Throws naming --root when it is not a directory (said before anything is read or made), for
// every command that takes --root;
// `consequence` ends the message ("; nothing was changed").
void require_root_dir(const std::string& root, const std::string& consequence = {});

// Runs apply's or rollback's steps() and then report() (which prints the one JSON document stdout
// holds with --format json), on success and on failure alike: a held lock is recorded through
// failed("locked", 4, why), any other error through failed("error", 1, why), and then rethrown
// for main to print on stderr and exit with that code.
template<typename Steps, typename Failed, typename Report>
void run_reported(Steps steps, Failed failed, Report report)
{
  try {
    steps();
  } catch (const LockHeld& e) {
    failed("locked", k_exit_locked, e.what());
    report();
    throw;
  } catch (const Error& e) {
    failed("error", 1, e.what());
    report();
    throw;
  }
  report();
}

// --root and --state-dir, as apply, rollback and status take them.
void add_root_options(CLI::App* cmd, std::string& root, std::string& state_dir, std::string& netns);

} // namespace tw::cli
