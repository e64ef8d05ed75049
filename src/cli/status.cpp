// `tw-advisor status`: the last apply, its condition, and drift between the runtime, the journal
// and the boot configuration (apply/engine.hpp reads it; report/status.hpp renders it).
#include "report/status.hpp"

#include "apply/engine.hpp"
#include "apply/request.hpp"
#include "cli/apply_common.hpp"
#include "cli/commands.hpp"
#include "cli/hints.hpp"
#include "cli/netns_args.hpp"
#include "facts/netns.hpp"
#include "facts/sysctl_reader.hpp"
#include "report/document.hpp"
#include "report/plan_text.hpp"
#include "state/journal.hpp"
#include "util/json_text.hpp"

#include <cstdio>
#include <memory>
#include <string>

namespace tw::cli {

namespace {

constexpr int k_exit_status_attention = 2; // --detailed-exitcode: interrupted, damaged or drifted

struct StatusArgs
{
  std::string format = "text";
  bool detailed_exitcode = false;
  std::string root = "/";
  std::string state_dir;
  std::string netns;
  bool history = false;
};

void run_status(const StatusArgs& args, int& exit_code)
{
  const auto netns = enter_netns_arg(args.netns);
  require_root_dir(args.root);
  const std::string state_dir = state_dir_for_namespace(args.root, args.state_dir, netns);
  auto report = read_status(Target{ args.root, state_dir, proc_sys_dir() }, boot_settings);
  for (auto& note : report.notes) {
    // The engine's hints name the plain command; echo the options this status was given.
    note = with_rollback_command(std::move(note), args.root, state_dir, args.netns);
  }
  report.next = with_rollback_command(std::move(report.next), args.root, state_dir, args.netns);
  if (args.history) {
    report.history = load_journal_archive(resolve_state_dir(args.root, state_dir));
  }
  const std::string out =
    args.format == "json"
      ? json_text(make_document(DocumentKind::status, current_host_named(netns), status_to_json(report))) +
          "\n"
      : status_to_text(report, text_width_of_stdout());
  std::fputs(out.c_str(), stdout);
  const bool attention = report.condition == StatusCondition::interrupted ||
                         report.condition == StatusCondition::damaged || report.drifted;
  exit_code = args.detailed_exitcode && attention ? k_exit_status_attention : 0;
}

} // namespace

void add_status_command(CLI::App& app, int& exit_code)
{
  auto status_args = std::make_shared<StatusArgs>();
  CLI::App* status = app.add_subcommand(
    "status",
    "The last apply and its state (done, rolled-back, interrupted, in-progress), and drift between the\n"
    "runtime values, the journal and the persisted configuration (what the sysctl.d files set at boot).\n"
    "Reads only.");
  status->add_option("--format", status_args->format, "Output format")
    ->check(CLI::IsMember({ "text", "json" }));
  status->add_flag("--detailed-exitcode",
                   status_args->detailed_exitcode,
                   "Exit 2 when the last apply was interrupted or anything drifted (for monitoring)");
  status->add_flag("--history",
                   status_args->history,
                   "Also list the last 20 finished applies (done or rolled back), newest first: what\n"
                   "each changed, and why it was rolled back");
  add_root_options(status, status_args->root, status_args->state_dir, status_args->netns);
  status->footer(
    "Conditions: done, rolled-back, none; \"interrupted\" means an apply was killed: run\n"
    "`tw-advisor rollback`. \"in-progress\" means an apply holds the lock of this state dir, network\n"
    "namespace or root now, perhaps still at its prompt before its journal exists. \"damaged\" means the\n"
    "journal cannot be read (cut short, edited): rollback refuses it, and status lists the snapshot\n"
    "values it can still read and the steps to restore by hand.\n"
    "\n"
    "Exit codes:\n"
    "  0  status printed (drift or not; with --detailed-exitcode: nothing to report)\n"
    "  1  error\n"
    "  2  (only with --detailed-exitcode) interrupted, damaged, or drift found");
  status->callback([status_args, &exit_code] { run_status(*status_args, exit_code); });
}

} // namespace tw::cli
