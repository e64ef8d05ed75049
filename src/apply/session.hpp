#pragma once

#include "apply/engine.hpp"
#include "apply/request.hpp"
#include "model/policy.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// What one apply ended with: the outcome automation keys on, and the exit code in every format.
struct ApplyReport
{
  // applied | already-applied | nothing-to-do | not-selected | declined | rolled-back-by-watch | error
  std::string outcome = "error";
  int exit_code = 1;
  std::vector<JournalChange> changes; // with the host's values as read before the apply
  std::string reason;
  std::string journal;               // the journal path this apply uses
  std::vector<std::string> warnings; // what the operator should have read before confirming
};

// Exit code of an apply that the watch rolled back.
inline constexpr int k_exit_watch_rolled_back = 3;

// What apply is about to do, as it shows it before asking.
struct ApplyPreview
{
  bool persist_only = false; // the runtime holds every value already; only the file is written
  const std::vector<JournalChange>& changes;
  const std::vector<std::string>& reasons; // why, per change
  const std::optional<JournalFile>& file;  // the generated file, when persisting
  std::filesystem::path root;
  std::chrono::seconds watch{ 0 };
  std::optional<std::string> warning; // e.g. source NAT and no watch
  const std::vector<std::string>& notes;
};

// Where an apply talks to the operator: step lines, the preview, the question, the watch.
class ApplyUi : public ApplyObserver
{
public:
  // One line for the operator.
  virtual void say(const std::string& line) = 0;
  // Asks question; true for yes. Only called when the apply is interactive.
  virtual bool confirm(const std::string& question) = 0;
  // What apply is about to do (ApplyPreview's lines), shown before it asks.
  virtual void preview(const ApplyPreview& preview) = 0;
};

// One `tw-advisor apply`, as the command line asked for it.
struct ApplyInvocation
{
  Policy policy;
  RequestOptions options; // root, state dir, /proc/sys, persist, command, rollback hint
  bool canary = false;    // apply only in the canary cohort
  std::optional<double> canary_percent;
  std::string host_id;                       // for the canary hash (read from /etc/machine-id when empty)
  std::optional<std::chrono::seconds> watch; // --watch
  bool yes = false;                          // no question
  bool interactive = false;                  // a terminal to ask on
  std::function<PlanToApply()> plan;         // the plan to apply, made or read after the canary choice
};

// Runs an apply end to end: the canary choice, the plan, the request, the applier (lock, prepare,
// preview, question, execute), and what it ended with. Throws tw::Error on errors (nothing changed,
// or everything rolled back, as the message says); report keeps what was known by then.
void run_apply_session(const ApplyInvocation& invocation, ApplyUi& ui, ApplyReport& report);

} // namespace tw
