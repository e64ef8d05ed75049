#include "apply/session.hpp"

#include "apply/canary.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace tw {

namespace {

void finish(ApplyReport& report, ApplyUi& ui, std::string outcome, int exit_code, std::string reason)
{
  report.outcome = std::move(outcome);
  report.exit_code = exit_code;
  report.reason = std::move(reason);
  ui.say(report.reason);
}

} // namespace

void run_apply_session(const ApplyInvocation& in, ApplyUi& ui, ApplyReport& report)
{
  RequestOptions options = in.options;
  report.journal = (resolve_state_dir(options.root, options.state_dir) / k_journal_name).string();
  // Canary first: a host outside the cohort must not even compute a plan.
  if (in.canary) {
    const auto choice = choose_canary(
      in.policy, in.canary_percent, in.host_id.empty() ? read_host_id(options.root) : in.host_id);
    if (!choice.selected) {
      finish(report, ui, "not-selected", 0, choice.reason);
      return;
    }
    ui.say(choice.reason);
    options.canary = choice.canary;
  }
  options.watch = choose_watch(in.policy, in.watch, in.canary).value_or(std::chrono::seconds(0));

  const PlanToApply plan = in.plan();
  // The lock and the journal come before any "nothing to do": an apply still running (its watch)
  // or an interrupted one awaiting rollback must not be reported as a converged host.
  Applier applier(make_request(in.policy, plan, options));
  if (plan.changes.empty()) {
    finish(
      report, ui, "nothing-to-do", 0, "the plan proposes no changes (" + plan.source + "): nothing to apply");
    return;
  }
  applier.prepare();
  report.changes = applier.changes();
  if (applier.already_applied()) {
    finish(report,
           ui,
           "already-applied",
           0,
           "already applied: every key already holds the plan's value (" + plan.source +
             "); nothing was changed");
    return;
  }
  std::optional<std::string> warning = unwatched_nat_warning(plan, options.watch, in.canary);
  if (warning) {
    report.warnings.push_back(*warning);
  }
  ui.preview({ applier.persist_only(),
               applier.changes(),
               plan.reasons,
               applier.file(),
               options.root,
               options.watch,
               warning,
               applier.notes() });
  if (!in.yes) {
    if (!in.interactive) {
      throw Error("apply", "no terminal to confirm on and --yes not given; nothing was changed");
    }
    if (!ui.confirm("Apply these changes?")) {
      finish(report, ui, "declined", 1, "declined: nothing changed");
      return;
    }
  }
  const auto outcome = applier.execute(ui);
  if (outcome.result == ApplyResult::watch_rolled_back) {
    report.outcome = "rolled-back-by-watch";
    report.exit_code = k_exit_watch_rolled_back;
    report.reason = outcome.reason;
    ui.say("rolled back by the watch: " + outcome.reason);
    if (!outcome.measured.empty()) {
      ui.say("measured: " + outcome.measured);
    }
    ui.say("runtime values and " + std::string(k_sysctld_dir) + " are as they were before (journal " +
           outcome.journal_id + ")");
    return;
  }
  if (options.watch.count() > 0) {
    report.reason = outcome.reused > 0 ? std::to_string(outcome.reused) +
                                           " TIME_WAIT tuples reused (TWRecycled): reuse is happening"
                                       : std::string("no TIME_WAIT reuse seen (TWRecycled did not move)");
    if (!outcome.measured.empty()) {
      report.reason += "; " + outcome.measured;
    }
    ui.say("watch passed: " + report.reason);
  }
  // The command on its own line: with --root and --state-dir it is long, and it is pasted whole.
  ui.say("applied (journal " + outcome.journal_id + "); undo with:");
  ui.say("  " + options.rollback_hint);
  report.outcome = "applied";
  report.exit_code = 0;
}

} // namespace tw
