// `tw-advisor plan`: the dry run. Gathers the facts of this network namespace, asks the policy
// engine whether net.ipv4.tcp_tw_reuse helps, and prints the verdict, why, and what to change.
// Changes nothing on the host; --out writes the reviewed plan for `apply --plan`.
#include "apply/engine.hpp"
#include "cli/apply_common.hpp"
#include "cli/commands.hpp"
#include "cli/hints.hpp"
#include "cli/netns_args.hpp"
#include "cli/profile_args.hpp"
#include "cli/validators.hpp"
#include "config/loader.hpp"
#include "facts/gather.hpp"
#include "facts/netns.hpp"
#include "facts/node.hpp"
#include "policy/engine.hpp"
#include "policy/node.hpp"
#include "reader/plan_reader.hpp"
#include "report/node_json.hpp"
#include "report/node_text.hpp"
#include "report/plan_json.hpp"
#include "report/plan_text.hpp"
#include "util/durable_fs.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_text.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace tw::cli {

namespace {

struct PlanArgs
{
  std::string format = "text";
  std::string out;
  bool detailed_exitcode = false;
  std::string root = "/";
  std::string state_dir; // empty: /var/lib/tw-advisor under root
  double sample = 0.0;
  std::string since; // the monitor's history over this long back (empty: none)
  bool no_probe = false;
  std::string profile;
  std::string policy;
  std::string facts; // hidden: recorded facts instead of live ones (golden tests, offline review)
  std::string netns;
  bool all_netns = false;
  std::string socket_reader = "auto";
};

// The options a "Next:" apply repeats: the policy whose guardrails and watch thresholds the plan
// was judged by ("" or " --policy PATH", absolute).
std::string repeated_apply_args(const PlanArgs& args)
{
  return args.policy.empty() ? "" : " --policy " + shell_word(absolute_for_hint(args.policy));
}

// The options a "Next:" plan command repeats so it saves the plan shown ("" or " --profile ..."),
// the apply's among them; a --facts replay's evidence was recorded elsewhere, so only profile and
// policy carry over.
std::string repeated_plan_args(const PlanArgs& args)
{
  std::string out;
  if (!args.profile.empty()) {
    out += " --profile " +
           shell_word(config::looks_like_path(args.profile) ? absolute_for_hint(args.profile) : args.profile);
  }
  out += repeated_apply_args(args);
  if (args.facts.empty()) {
    if (args.sample > 0) {
      out += " --sample " + fmt::format("{:g}", args.sample);
    }
    if (args.no_probe) {
      out += " --no-probe";
    }
    if (!args.since.empty()) {
      out += " --since " + shell_word(args.since);
    }
  }
  return out;
}

// `plan --all-netns`: every namespace judged with the same profile and policy, most urgent first.
void run_node_plan(const PlanArgs& args,
                   const GatherOptions& options,
                   const Profile& profile,
                   const Policy& policy,
                   int& exit_code)
{
  require_netns_switching("--all-netns");
  const NodePlan node =
    policy::make_node_plan(gather_node(options, socket_reader_from(args.socket_reader)), profile, policy);
  const std::string text = args.format == "json"
                             ? json_text(node_plan_to_json(node)) + "\n"
                             : node_plan_to_text(node,
                                                 PlanTextOptions{ colour_wanted_on_stdout(),
                                                                  {},
                                                                  nullptr,
                                                                  {},
                                                                  nullptr,
                                                                  text_width_of_stdout(),
                                                                  // No --state-dir: given to every
                                                                  // namespace's apply, it would hold
                                                                  // one journal for all of them.
                                                                  target_args(args.root, ""),
                                                                  false,
                                                                  repeated_plan_args(args),
                                                                  repeated_apply_args(args) });
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  exit_code = args.detailed_exitcode && node.has_changes() ? 2 : 0;
}

void run_plan(const PlanArgs& args, int& exit_code)
{
  require_root_dir(args.root);
  std::error_code ec;
  if (!args.out.empty() && std::filesystem::is_directory(args.out, ec)) {
    throw Error("--out " + args.out,
                "is a directory; give the file to write, e.g. --out " +
                  (std::filesystem::path(args.out) / "plan.json").string());
  }
  std::optional<double> since_seconds; // how far back the monitor's history is judged
  if (!args.since.empty()) {
    since_seconds = static_cast<double>(duration_arg("--since", args.since, std::chrono::seconds(1)).count());
    if (args.all_netns || !args.facts.empty()) {
      throw Error("--since",
                  "reads the monitor's history of one namespace and takes no --all-netns or --facts (a saved "
                  "plan keeps the history it was judged with)");
    }
  }
  if (args.all_netns && (!args.out.empty() || !args.facts.empty())) {
    throw Error("--all-netns",
                "judges every namespace live and takes no --out or --facts (save one namespace's plan "
                "with --netns NAME --out FILE)");
  }
  const Profile profile = load_profile_arg(args.profile);
  const Policy policy = load_policy_arg(args.policy);
  const auto netns = enter_netns_arg(args.netns);
  const std::string state_dir = state_dir_for_namespace(args.root, args.state_dir, netns);

  Facts facts;
  if (!args.facts.empty()) {
    facts = facts_from_json_file(args.facts); // with the boot facts it recorded, if any
  } else {
    GatherOptions options;
    options.netns = netns;
    options.sample_seconds = args.sample;
    options.probe = !args.no_probe;
    options.sleep = window_sleeper("watching the counters and connect()", args.sample);
    options.read_boot = true;
    options.root = args.root;
    options.state_dir = state_dir;
    for (const auto& g : policy.guardrails) {
      options.boot_keys.push_back(g.key);
    }
    options.history_since_seconds = since_seconds;
    if (args.all_netns) {
      run_node_plan(args, options, profile, policy, exit_code);
      return;
    }
    facts = gather_facts(options);
  }

  Plan plan = make_plan(facts, profile, policy);
  // The engine names `tw-advisor rollback` plainly; the hint to paste carries this plan's options.
  with_rollback_commands(plan, args.root, state_dir, args.netns);

  // The JSON document only when it is written or printed.
  std::string document;
  if (!args.out.empty() || args.format == "json") {
    document = json_text(plan_document(plan, facts)) + "\n";
  }
  if (!args.out.empty()) {
    try { // atomically: a temp file beside it, fsync, rename, fsync of the directory
      write_file_atomically(std::filesystem::path(args.out), document, 0644);
    } catch (const Error& e) {
      throw Error("--out " + args.out, e.what());
    }
  }
  const std::string text =
    args.format == "json"
      ? document
      : plan_to_text(plan,
                     PlanTextOptions{ colour_wanted_on_stdout(),
                                      args.out,
                                      &facts.evidence,
                                      netns && netns->kind != NetnsKind::host ? args.netns : std::string(),
                                      &facts.host,
                                      text_width_of_stdout(),
                                      // Recorded facts (--facts) were judged elsewhere: the next
                                      // commands run live, on the host's own tree.
                                      args.facts.empty() ? target_args(args.root, args.state_dir) : "",
                                      args.facts.empty() && !facts.host.netns_kind.empty() &&
                                        facts.host.netns_kind != "host" && is_host_tree(args.root),
                                      repeated_plan_args(args),
                                      repeated_apply_args(args) });
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  exit_code = args.detailed_exitcode && !plan.changes.empty() ? 2 : 0;
}

} // namespace

void add_plan_command(CLI::App& app, int& exit_code)
{
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand(
    "plan",
    "Dry run: decide from live evidence whether net.ipv4.tcp_tw_reuse helps on this host, and show\n"
    "what would change and why. Changes nothing.");
  cmd
    ->add_option(
      "--format", args->format, "Output format: text for people, json for tools (doc/plan-schema.md)")
    ->check(CLI::IsMember({ "text", "json" }));
  cmd
    ->add_option(
      "--out",
      args->out,
      "Also write the JSON plan to FILE (atomically), for `apply --plan FILE` to apply exactly that")
    ->type_name("FILE");
  cmd->add_flag("--detailed-exitcode",
                args->detailed_exitcode,
                "Exit 2 when changes are proposed (as `terraform plan -detailed-exitcode`)");
  cmd
    ->add_option(
      "--root",
      args->root,
      "Root of the host's file system for sysctl.d (boot drift); /proc and /sys are never prefixed")
    ->type_name("DIR")
    ->capture_default_str();
  cmd
    ->add_option("--state-dir",
                 args->state_dir,
                 "Where apply keeps its journal and the monitor its history (default /var/lib/tw-advisor\n"
                 "under --root); plan only reads them: an interrupted apply, --since")
    ->type_name("DIR");
  cmd
    ->add_option("--sample",
                 args->sample,
                 "Watch SECONDS: rates from the counters (connections/s, TWRecycled/s) and, as root, the\n"
                 "BPF probe's failed connect()/bind() and recycled TIME_WAIT (doc/probe.md)")
    ->type_name("SECONDS")
    ->check(number_range(0.0, 3600.0));
  cmd
    ->add_option("--since",
                 args->since,
                 "Also judge the peaks `tw-advisor monitor` recorded over the last DURATION (90s, 10m, 1h)\n"
                 "in the state dir, so a burst that has ended still counts (doc/monitor.md)")
    ->type_name("DURATION");
  cmd->add_flag("--no-probe",
                args->no_probe,
                "Do not load the BPF evidence probe during --sample; judge from the counters only");
  cmd
    ->add_option("--profile",
                 args->profile,
                 "Host intent: default, web-server, api-client, proxy, container-node, or a PATH to a YAML "
                 "profile (doc/profiles.md)")
    ->type_name("NAME|PATH");
  cmd
    ->add_option(
      "--policy", args->policy, "PATH to a policy YAML (default: the shipped policies/default.yaml)")
    ->type_name("PATH");
  auto* netns = add_netns_option(cmd, args->netns, "judge");
  auto* all_netns = cmd
                      ->add_flag("--all-netns",
                                 args->all_netns,
                                 "Judge every network namespace (pods, containers,\n"
                                 "ip netns), most urgent first, then the full plan\n"
                                 "where tcp_tw_reuse helps or is blocked. Root.\n"
                                 "Not with --netns")
                      ->excludes(netns);
  add_socket_reader_option(cmd, args->socket_reader, all_netns);
  cmd
    ->add_option(
      "--facts", args->facts, "Judge recorded facts (the facts+sockets of a JSON plan) instead of live ones")
    ->group(""); // hidden: for golden tests and offline review
  cmd->footer(
    "Verdicts (exactly one):\n"
    "  helps                  outbound TIME_WAIT holds a large share of the ports towards some destination\n"
    "                         (or connects fail for lack of ports) and the current tcp_tw_reuse does not\n"
    "                         cover that traffic; the plan proposes the change (prerequisite fixes first).\n"
    "  irrelevant             the TIME_WAIT is inbound (tcp_tw_reuse never applies to accepted\n"
    "                         connections), or outbound without port pressure, or there is none.\n"
    "  already-enabled        tcp_tw_reuse already covers the pressured traffic (1; or 2 when only\n"
    "                         loopback destinations are pressured).\n"
    "  blocked                it would help, but a prerequisite fails that the plan may not or cannot\n"
    "                         fix: the policy forbids the fix, or the peer refuses TCP timestamps.\n"
    "  insufficient-evidence  something needed could not be read (it is named): run as root, inside\n"
    "                         the network namespace to judge.\n\n"
    "Why it is subtle: tcp_tw_reuse=2 (the default) covers only loopback (127/8, ::1, bound to lo), not\n"
    "the host's own other addresses nor containers over veth; tcp_timestamps=0 makes it a no-op; only\n"
    "connect() consults it; source NAT can make reused tuples collide at the peer (PAWS), so canary.\n"
    "Pressure is per destination (source, destination, port): closing first without reuse, each one\n"
    "takes at most usable ports / 60 s new connections per second (28232 / 60 = 470 by default).\n\n"
    "Examples:\n"
    "  tw-advisor plan                                   what an operator reads\n"
    "  tw-advisor plan --profile api-client --sample 5   watch 5 s: rates, failed connects\n"
    "  tw-advisor plan --out plan.json && tw-advisor apply --plan plan.json\n"
    "  tw-advisor plan --netns PID                       a container's namespace\n"
    "  tw-advisor plan --all-netns                       every namespace\n\n"
    "Exit codes: 0 the plan was made (whatever the verdict); 1 error (named, with file:line:column for\n"
    "profiles and policies); 2 with --detailed-exitcode when changes are proposed.");
  cmd->callback([args, &exit_code] { run_plan(*args, exit_code); });
}

} // namespace tw::cli
