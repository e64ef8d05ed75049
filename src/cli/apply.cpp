// `tw-advisor apply`: the only command that changes the host. It parses the options, builds the
// request (apply/request.hpp), shows it, asks, and runs the applier (apply/engine.hpp), which
// journals every step so that no failure or kill leaves a host half-changed (doc/apply.md).
#include "apply/session.hpp"
#include "cli/apply_common.hpp"
#include "cli/commands.hpp"
#include "cli/hints.hpp"
#include "cli/netns_args.hpp"
#include "cli/profile_args.hpp"
#include "cli/validators.hpp"
#include "facts/gather.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/sysctl_reader.hpp"
#include "policy/engine.hpp"
#include "report/apply_report.hpp"
#include "report/document.hpp"
#include "report/plan_json.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

namespace tw::cli {

namespace {

struct ApplyArgs
{
  std::string netns;
  std::string plan_file;
  bool yes = false;
  bool canary = false;
  std::optional<double> canary_percent;
  std::string host_id;
  std::string watch;
  bool no_persist = false;
  bool no_probe = false;
  std::string root = "/";
  std::string state_dir;
  std::string profile;
  std::string policy;
  std::string format = "text";
  bool ignore_host_mismatch = false;
  bool force = false;
  bool host_id_given = false; // --host-id was on the command line (an empty value is an error)
};

// The plan to apply: the reviewed --plan file (refused when made elsewhere, unless told), or one
// made now from this host's facts.
PlanToApply plan_for(const ApplyArgs& args, const Policy& policy, ApplyUi& out)
{
  if (args.plan_file.empty()) {
    const Facts facts = gather_facts(GatherOptions{});
    const Plan plan = make_plan(facts, load_profile_arg(args.profile), policy);
    return computed_plan(plan, sha256_hex(json_text(plan_to_json(plan, facts), -1)));
  }
  return reviewed_plan(
    args.plan_file, args.ignore_host_mismatch, [&out](const std::string& note) { out.say("note: " + note); });
}

void apply_steps(const ApplyArgs& args,
                 const std::optional<NetnsInfo>& netns,
                 ApplyReport& report,
                 StepPrinter& ui)
{
  install_interrupt_handlers();
  // Before anything is created (the state dir and its lock live under root by default).
  require_root_dir(args.root, "; nothing was changed");
  ApplyInvocation in;
  in.policy = load_policy_arg(args.policy);
  if (!args.watch.empty()) {
    in.watch = duration_arg("--watch", args.watch, std::chrono::seconds(0));
  }
  if (args.host_id_given && trim(args.host_id).empty()) {
    throw Error("--host-id", "empty: give the host's id, or leave the option out to use /etc/machine-id");
  }
  in.options.root = args.root;
  const std::string state_dir = state_dir_for_namespace(args.root, args.state_dir, netns);
  in.options.state_dir = state_dir;
  in.options.proc_sys = proc_sys_dir();
  in.options.persist = !args.no_persist;
  in.options.probe = !args.no_probe;
  in.options.force = args.force;
  in.options.command = current_command_line();
  in.options.rollback_hint = rollback_command(args.root, state_dir, args.netns);
  in.canary = args.canary;
  in.canary_percent = args.canary_percent;
  in.host_id = args.host_id;
  in.yes = args.yes;
  in.interactive = ::isatty(STDIN_FILENO) != 0;
  in.plan = [&] { return plan_for(args, in.policy, ui); };
  run_apply_session(in, ui, report);
  ui.end_progress();
}

void run_apply(const ApplyArgs& args, int& exit_code)
{
  std::optional<NetnsInfo> netns; // entered first thing in the try: a bad --netns is a JSON error too
  const bool json = args.format == "json";
  StepPrinter ui(json);
  ApplyReport report;
  // With --format json, stdout holds exactly one document, on success and on error alike.
  const auto print_json = [&] {
    for (const auto& w : ui.warnings()) { // the steps' "warning:" lines, as the text shows them
      if (std::find(report.warnings.begin(), report.warnings.end(), w) == report.warnings.end()) {
        report.warnings.push_back(w);
      }
    }
    if (json) {
      const auto doc =
        make_document(DocumentKind::apply, current_host_named(netns), apply_report_to_json(report));
      std::fputs((json_text(doc) + "\n").c_str(), stdout);
      std::fflush(stdout);
    }
  };
  run_reported(
    [&] {
      netns = enter_netns_arg(args.netns);
      apply_steps(args, netns, report, ui);
    },
    [&](const char* outcome, int code, const std::string& why) {
      report.outcome = outcome;
      report.exit_code = code;
      report.reason = why;
    },
    print_json);
  exit_code = report.exit_code;
}

} // namespace

void add_apply_command(CLI::App& app, int& exit_code)
{
  auto apply_args = std::make_shared<ApplyArgs>();
  CLI::App* apply = app.add_subcommand(
    "apply",
    "Apply a plan safely: journal and snapshot first, then write each /proc/sys key and read it back,\n"
    "optionally watch the health counters, then persist a generated /etc/sysctl.d file. Any failure\n"
    "rolls everything back. Needs root.");
  apply
    ->add_option("--plan",
                 apply_args->plan_file,
                 "Apply exactly this reviewed plan (from `plan --out`); "
                 "refused when the host has changed since")
    ->type_name("FILE");
  apply->add_flag("--yes,-y", apply_args->yes, "Do not ask for confirmation (needed without a terminal)");
  auto* canary_flag = apply->add_flag(
    "--canary", apply_args->canary, "Apply only if this host is in the canary cohort; watches by default");
  apply
    ->add_option("--canary-percent",
                 apply_args->canary_percent,
                 "With --canary: cohort size in percent (0-100, default from the policy: 10)")
    ->check(number_range(0.0, 100.0))
    ->needs(canary_flag)
    ->type_name("P");
  apply->add_option("--host-id", apply_args->host_id, "Host id for the canary hash (default /etc/machine-id)")
    ->type_name("ID")
    ->each([apply_args](const std::string&) { apply_args->host_id_given = true; });
  apply
    ->add_option(
      "--watch",
      apply_args->watch,
      "Watch the health counters this long after the runtime change and roll back when one rises: "
      "0, 90s, 5m, 1m30s, 1h (default 0; with --canary the policy's canary window). As root the BPF "
      "probe watches too: connect() EADDRNOTAVAIL and bind() EADDRINUSE must fall, and a "
      "recycled connect that fails rolls back at once (doc/probe.md)")
    ->type_name("DURATION");
  apply->add_flag(
    "--no-persist", apply_args->no_persist, "Change the runtime only; write nothing to /etc/sysctl.d");
  apply->add_flag("--no-probe",
                  apply_args->no_probe,
                  "Watch the counters only: without the BPF probe the watch cannot require connect()\n"
                  "failures to fall nor roll back on recycled connects that fail (doc/probe.md)");
  apply->add_flag("--force",
                  apply_args->force,
                  "Apply even when another tuner sets a changed key and its value wins over sysctl.d\n"
                  "(a TuneD profile with reapply_sysctl = 0), or a container in this namespace declares\n"
                  "another value (a pod's securityContext.sysctls): its value comes back at its next run");
  apply->add_flag("--ignore-host-mismatch",
                  apply_args->ignore_host_mismatch,
                  "Apply a --plan made on another host name or network namespace (refused by default)");
  apply
    ->add_option("--format",
                 apply_args->format,
                 "Output format: text, or json (one object on stdout: outcome, exit_code, changes, reason, "
                 "journal; the steps go to stderr)")
    ->check(CLI::IsMember({ "text", "json" }));
  add_root_options(apply, apply_args->root, apply_args->state_dir, apply_args->netns);
  apply->add_option("--profile", apply_args->profile, "Host profile NAME or PATH, for a computed plan")
    ->type_name("NAME|PATH");
  apply
    ->add_option("--policy",
                 apply_args->policy,
                 "PATH to a policy YAML: allowed keys and value ranges, watch thresholds, canary defaults "
                 "(default: the shipped policies/default.yaml)")
    ->type_name("PATH");
  apply->footer(
    "Steps, each durable before the next: take the locks (one apply or rollback at a time per network\n"
    "namespace and per --root, whatever the --state-dir: /run/lock/tw-advisor; then the state dir's);\n"
    "write the journal with the snapshot (old runtime values, exact previous bytes of every file to be\n"
    "written) and fsync it; write each key to /proc/sys and read it back; watch (if any); write\n"
    "/etc/sysctl.d/90-tw-advisor.conf atomically, after the resolver confirms it wins at boot (if another\n"
    "file overrides a key, apply names file:line and refuses); mark the journal done. Killed at any\n"
    "point: run `tw-advisor rollback`.\n\n"
    "Canary: the host's bucket is SHA-256(\"tw-advisor-canary:\" + host id), first 8 bytes, mod 10000; it "
    "is\n"
    "selected when bucket < P*100. The same P always picks the same hosts; a larger P only adds hosts.\n"
    "Watch: every second, each policy counter's rate since the change minus its rate in a short pre-apply\n"
    "baseline must stay under the rule's max_rise_per_second (Tcp.AttemptFails, TcpExt.PAWSActive,\n"
    "PAWSEstab, TSEcrRejected, TCPSynRetrans); TcpExt.TWRecycled is reported as reuse happening.\n\n"
    "Examples:\n"
    "  tw-advisor plan --out plan.json          review it, then:\n"
    "  tw-advisor apply --plan plan.json        shows the changes and asks\n"
    "  tw-advisor apply --canary --canary-percent 5 --watch 10m --yes   on every host of a fleet\n"
    "  tw-advisor status                        what was applied, and any drift since\n"
    "  tw-advisor rollback                      back to exactly how it was\n\n"
    "A --plan is refused when its verdict is not helps but it lists changes (edited by hand), and when\n"
    "it was made on another host name or network namespace (--ignore-host-mismatch overrides that).\n"
    "Re-running the same plan once applied is \"already applied\", exit 0, only when the runtime AND the\n"
    "generated file hold every value; when the file was deleted (or the keys were set by hand) apply\n"
    "persists them, journaled like any apply. An apply interrupted earlier\n"
    "(see status) makes apply refuse until `tw-advisor rollback` (with the same --root/--state-dir) ran.\n\n"
    "Exit codes: 0 applied, already applied, nothing to do, or not in the canary cohort; 1 error (nothing\n"
    "changed, or everything rolled back; the message says which), an interrupted apply awaits\n"
    "rollback, or declined at the prompt (\"declined: nothing changed\"); 3 applied, then rolled back by\n"
    "the watch; 4 another apply or rollback holds the lock on this target (nothing done: retry later).\n"
    "--format json outcomes: applied, already-applied, nothing-to-do, not-selected, declined,\n"
    "rolled-back-by-watch, locked, error.\n"
    "Details, and the test hooks TW_ADVISOR_FAILPOINT and TW_ADVISOR_PROC_SYS: doc/apply.md.");
  apply->callback([apply_args, &exit_code] { run_apply(*apply_args, exit_code); });
}

} // namespace tw::cli
