// `tw-advisor rollback`: undoes the last apply from its journal (apply/engine.hpp), also one that
// was interrupted or killed at any step.
#include "apply/engine.hpp"
#include "cli/apply_common.hpp"
#include "cli/commands.hpp"
#include "cli/netns_args.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/sysctl_reader.hpp"
#include "report/apply_report.hpp"
#include "report/document.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

#include <memory>
#include <optional>
#include <string>

namespace tw::cli {

namespace {

struct RollbackArgs
{
  std::string root = "/";
  std::string state_dir;
  std::string netns;
  std::string format = "text";
};

void rollback_steps(const RollbackArgs& args,
                    const std::optional<NetnsInfo>& netns,
                    StepPrinter& out,
                    RollbackReport& report)
{
  require_root_dir(args.root, "; nothing was changed");
  const std::string state_dir = state_dir_for_namespace(args.root, args.state_dir, netns);
  install_interrupt_handlers(); // a signal must not stop a rollback half-way; it finishes first
  const auto done =
    rollback_last_apply(Target{ args.root, state_dir, proc_sys_dir() }, current_command_line(), out);
  const auto dir = resolve_state_dir(args.root, state_dir);
  if (!done.had_journal) {
    report.outcome = "nothing-to-do";
    report.message = "nothing to roll back: no apply is recorded in " + dir.string();
  } else if (done.already_final) {
    report.outcome = "nothing-to-do";
    // The journal's reason says how: "rolled back on request (COMMAND)", or an interrupted apply
    // finished, or the watch.
    const std::string& why = done.journal.reason;
    report.message = "nothing to roll back: the last apply (" + done.journal.id + ") was already " +
                     (why.rfind("rolled back ", 0) == 0 ? why : "rolled back (" + why + ")");
  } else {
    report.outcome = "rolled-back";
    report.message = "rolled back apply " + done.journal.id + " (it was " + done.previous_state +
                     "): runtime values and " + k_sysctld_dir + " are as they were before it";
  }
  if (done.had_journal) {
    report.apply = done.journal;
    report.previous_state = done.previous_state;
  }
  report.exit_code = 0;
  out.say(report.message);
}

void run_rollback(const RollbackArgs& args, int& exit_code)
{
  std::optional<NetnsInfo> netns; // entered first thing in the try: a bad --netns is a JSON error too
  const bool json = args.format == "json";
  StepPrinter out(json);
  RollbackReport report;
  // With --format json, stdout holds exactly one document, on success and on error alike.
  const auto print_json = [&] {
    report.warnings = out.warnings();
    if (json) {
      const auto doc =
        make_document(DocumentKind::rollback, current_host_named(netns), rollback_report_to_json(report));
      std::fputs((json_text(doc) + "\n").c_str(), stdout);
      std::fflush(stdout);
    }
  };
  run_reported(
    [&] {
      netns = enter_netns_arg(args.netns);
      rollback_steps(args, netns, out, report);
    },
    [&](const char* outcome, int code, const std::string& why) {
      report.outcome = outcome;
      report.exit_code = code;
      report.message = why;
    },
    print_json);
  exit_code = report.exit_code;
}

} // namespace

void add_rollback_command(CLI::App& app, int& exit_code)
{
  auto rollback_args = std::make_shared<RollbackArgs>();
  CLI::App* rollback = app.add_subcommand(
    "rollback",
    "Undo the last apply from its journal: every runtime key back to its snapshot value, /etc/sysctl.d\n"
    "back to exactly what it was (files restored byte for byte, added files and temp files removed).\n"
    "Also finishes undoing an apply that was interrupted or killed at any step.");
  add_root_options(rollback, rollback_args->root, rollback_args->state_dir, rollback_args->netns);
  rollback
    ->add_option("--format",
                 rollback_args->format,
                 "Output format: text, or json (one object on stdout: outcome rolled-back, nothing-to-do, "
                 "locked or error; exit_code, message, the apply undone, warnings; the steps go to stderr)")
    ->check(CLI::IsMember({ "text", "json" }));
  rollback->footer(
    "Run it in the same network namespace and with the same --root as the apply. It writes only below\n"
    "/proc/sys of its own namespace and refuses a journal that names another tree or is damaged\n"
    "(`tw-advisor status` then says how to restore by hand).\n"
    "A key or the generated file changed by someone since the apply is still restored to its pre-apply\n"
    "value; rollback prints a warning naming each one and what it held (nothing is lost silently).\n"
    "Only the last apply can be rolled back; a second rollback says there is nothing to do.\n"
    "Exit codes: 0 rolled back or nothing to do; 1 error (what could not be restored, and why); 4 another\n"
    "apply or rollback holds the lock on this target (nothing done: retry later).");
  rollback->callback([rollback_args, &exit_code] { run_rollback(*rollback_args, exit_code); });
}

} // namespace tw::cli
