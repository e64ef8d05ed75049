// `tw-advisor rollback`: undoes the last apply from its journal (apply/engine.hpp), also one that
// was interrupted or killed at any step.
#include "apply/engine.hpp"
#include "cli/apply_common.hpp"
#include "cli/commands.hpp"
#include "cli/netns_args.hpp"
#include "facts/host.hpp"
#include "facts/sysctl_reader.hpp"

#include <memory>
#include <string>

namespace tw::cli {

namespace {

struct RollbackArgs
{
  std::string root = "/";
  std::string state_dir;
  std::string netns;
};

void run_rollback(const RollbackArgs& args, int& exit_code)
{
  const auto netns = enter_netns_arg(args.netns);
  const std::string state_dir = state_dir_for_namespace(args.root, args.state_dir, netns);
  install_interrupt_handlers(); // a signal must not stop a rollback half-way; it finishes first
  StepPrinter out(false);
  const auto done =
    rollback_last_apply(Target{ args.root, state_dir, proc_sys_dir() }, current_command_line(), out);
  const auto dir = resolve_state_dir(args.root, state_dir);
  if (!done.had_journal) {
    out.say("nothing to roll back: no apply is recorded in " + dir.string());
  } else if (done.already_final) {
    out.say("nothing to roll back: the last apply (" + done.journal.id + ") is already rolled back (" +
            done.journal.reason + ")");
  } else {
    out.say("rolled back apply " + done.journal.id + " (it was " + done.previous_state +
            "): runtime values and " + k_sysctld_dir + " are as they were before it");
  }
  exit_code = 0;
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
