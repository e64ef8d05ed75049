// `tw-advisor monitor`: the long-running observer. Every interval it takes the census and the
// counters of its network namespace, judges them as plan does and writes the Prometheus textfile
// node_exporter's textfile collector serves (doc/monitor.md).
#include "monitor/monitor.hpp"

#include "cli/commands.hpp"
#include "cli/netns_args.hpp"
#include "cli/profile_args.hpp"
#include "cli/validators.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "model/netns.hpp"
#include "state/journal.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>

namespace tw::cli {

namespace {

struct MonitorArgs
{
  double interval = 15.0;
  std::string textfile_dir = "/var/lib/prometheus/node-exporter";
  std::uint64_t count = 0; // 0: until SIGTERM
  bool no_probe = false;
  std::string profile;
  std::string policy;
  std::string netns;
  bool all_netns = false;
  std::string state_dir;
  std::string history = "1h";
  bool history_given = false; // --history on the command line, not the default
};

void run(const MonitorArgs& args, int& exit_code)
{
  const MonitorSignals signals; // first: a reload or stop during the start is taken, not fatal
  // A daemon's log is its record (the journal under systemd): what it watches and every verdict
  // change are said at info, which one-shot commands keep quiet. -q still means errors only.
  if (spdlog::get_level() == spdlog::level::warn) {
    spdlog::set_level(spdlog::level::info);
  }
  const auto entered = enter_netns_arg(args.netns);
  MonitorOptions options;
  options.all_netns = args.all_netns;
  options.interval = std::chrono::milliseconds(std::llround(args.interval * 1000.0));
  options.textfile_dir = args.textfile_dir;
  options.probe = !args.no_probe;
  if (args.count > 0) {
    options.count = args.count;
  }
  // The namespace as operators know it: "host", an ip netns name, "pod ... container ...".
  const std::optional<NetnsInfo> netns = entered ? entered : identify_netns(current_netns_inode());
  options.netns_label = netns ? netns->name : "netns " + std::to_string(current_netns_inode());
  options.netns = netns;
  options.history_keep = duration_arg("--history", args.history, std::chrono::seconds(0));
  options.history_asked = args.history_given || !args.state_dir.empty();
  // With --all-netns this is the host's; another namespace keeps its own in its netns-INODE folder.
  options.state_dir = resolve_state_dir(
    "/", args.all_netns ? args.state_dir : state_dir_for_namespace("/", args.state_dir, netns));
  exit_code = run_monitor(
    options,
    [&args] {
      return MonitorConfig{ load_profile_arg(args.profile), load_policy_arg(args.policy) };
    },
    signals);
}

} // namespace

void add_monitor_command(CLI::App& app, int& exit_code)
{
  auto args = std::make_shared<MonitorArgs>();
  CLI::App* cmd = app.add_subcommand(
    "monitor",
    "Watch this network namespace (or every one) over time: every --interval, take the census and\n"
    "the counters, judge them as plan does and write Prometheus metrics for node_exporter's\n"
    "textfile collector.\n"
    "Runs until SIGTERM; SIGHUP reloads the profile and policy. Changes nothing.");
  cmd->add_option("--interval", args->interval, "SECONDS between intervals")
    ->type_name("SECONDS")
    ->check(number_range(1.0, 3600.0))
    ->capture_default_str();
  cmd
    ->add_option("--textfile-dir",
                 args->textfile_dir,
                 "DIR where tw_advisor.prom is written (atomically) for node_exporter's\n"
                 "--collector.textfile.directory")
    ->type_name("DIR")
    ->capture_default_str();
  cmd->add_option("--count", args->count, "Stop after N intervals (default: run until SIGTERM)")
    ->type_name("N");
  cmd->add_flag("--no-probe", args->no_probe, "Do not keep the BPF evidence probe attached");
  cmd->add_option("--profile", args->profile, "Host intent, as for plan (doc/profiles.md)")
    ->type_name("NAME|PATH");
  cmd->add_option("--policy", args->policy, "PATH to a policy YAML, as for plan")->type_name("PATH");
  auto* netns = add_netns_option(cmd, args->netns, "watch");
  cmd
    ->add_flag("--all-netns",
               args->all_netns,
               "Watch every network namespace (pods, containers, ip netns) in one\n"
               "textfile, each labelled netns=\"NAME\" as plan --all-netns names it. Root.\n"
               "Not with --netns")
    ->excludes(netns);
  CLI::Option* history =
    cmd
      ->add_option("--history",
                   args->history,
                   "Keep the last DURATION of intervals (peaks per destination, failures) in the state dir\n"
                   "for `plan --since`; 0 keeps none")
      ->capture_default_str()
      ->type_name("DURATION");
  cmd
    ->add_option("--state-dir",
                 args->state_dir,
                 "DIR of the history (default /var/lib/tw-advisor, or its netns-INODE folder for\n"
                 "another namespace, as apply and plan use)")
    ->type_name("DIR");
  cmd->footer("Metrics (prefix tw_advisor_; every one and its labels in doc/monitor.md): TCP sockets by\n"
              "state, TIME_WAIT by role, port range and usable ports, per destination (the 10 with the\n"
              "highest pressure) ports in use, TIME_WAIT and pressure, the kernel counters that matter,\n"
              "the probe's connect() EADDRNOTAVAIL and recycled connects, the verdict, and the monitor's\n"
              "own health. Exit codes: 0 stopped by a signal or --count, 1 an error before the first\n"
              "interval (the textfile directory, the state dir, the profile or policy); later errors skip\n"
              "an interval. History: one line per interval in STATE_DIR/monitor-history.jsonl (the groups\n"
              "with the most TIME_WAIT, the probe's failures), read by `plan --since 10m`.");
  cmd->callback([args, history, &exit_code] {
    args->history_given = history->count() > 0;
    run(*args, exit_code);
  });
}

} // namespace tw::cli
