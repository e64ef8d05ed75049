// `tw-advisor census`: who is creating TIME_WAIT here, and is any destination running out of
// source ports. Reads only; works without root (sock_diag dumps are unprivileged).
#include "facts/census.hpp"

#include "cli/commands.hpp"
#include "cli/hints.hpp"
#include "cli/netns_args.hpp"
#include "cli/validators.hpp"
#include "facts/dump_file.hpp"
#include "facts/netns.hpp"
#include "facts/node.hpp"
#include "facts/probe.hpp"
#include "facts/sock_diag.hpp"
#include "report/census_json.hpp"
#include "report/census_text.hpp"
#include "report/document.hpp"
#include "report/evidence_text.hpp"
#include "report/node_json.hpp"
#include "report/node_text.hpp"
#include "report/plan_text.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace tw::cli {

namespace {

struct CensusArgs
{
  std::string format = "text";
  std::size_t top = 20;
  bool no_timestamps = false;
  std::string dump_file; // record the raw sock_diag replies here
  std::string from_dump; // decode this recording instead of asking the kernel
  double sample = 0.0;   // > 0: attach the evidence probe for this many seconds first
  bool no_probe = false;
  std::string netns;
  bool all_netns = false;
  std::string socket_reader = "auto";
};

// Without a live window (no --sample, or a recording) there is no symptom evidence.
constexpr const char* k_no_window = "symptom evidence needs a live window: --sample N";

// The symptom evidence over --sample seconds (before the census, so the census shows the sockets
// as they are at its end), or why there is none.
SymptomEvidence watch_symptoms(const CensusArgs& args)
{
  if (args.sample <= 0.0) {
    return counters_evidence(k_no_window);
  }
  const EvidenceProbe probe(ProbeOptions{ !args.no_probe, 0 });
  window_sleeper(probe.attached() ? "watching connect() and bind()" : "waiting (no probe)",
                 args.sample)(std::chrono::milliseconds(static_cast<long long>(args.sample * 1000.0)));
  return probe.collect(args.sample);
}

// Why a recorded census names no processes: the replay must print what the recording run did.
constexpr const char* k_owners_off_recorded = "not for a recorded census, whose replay has no /proc";

// The census from a recording: its own sysctls and tcp_info choice, so the replay is the census
// the recording run printed, on any host.
SocketCensus replay_census(const CensusArgs& args)
{
  DumpFileReader recording(args.from_dump);
  CensusOptions options = census_options_from(recording.sysctls());
  options.top_n = args.top;
  options.want_timestamps = recording.timestamps();
  options.owners_off = k_owners_off_recorded;
  SockDiag diag(recording);
  SocketCensus census = take_census(options, diag);
  if (!census.available) {
    throw Error("socket census from a recording", census.error);
  }
  if (!recording.at_end()) {
    throw Error("replaying " + args.from_dump,
                "the recording holds more than the census's dumps (made by another version, or damaged)");
  }
  return census;
}

SocketCensus live_census(const CensusArgs& args)
{
  const Sysctls sysctls = read_census_sysctls();
  CensusOptions options = census_options_from(sysctls);
  options.top_n = args.top;
  options.want_timestamps = !args.no_timestamps;
  options.attribute_owners = args.dump_file.empty();
  options.owners_off = k_owners_off_recorded;
  if (args.dump_file.empty()) {
    SocketCensus census = take_census(options);
    if (!census.available) {
      throw Error("socket census over NETLINK_SOCK_DIAG", census.error);
    }
    return census;
  }
  DumpFileWriter recorder(args.dump_file, sysctls, options.want_timestamps);
  SockDiag diag(recorder);
  SocketCensus census = take_census(options, diag);
  if (!census.available) {
    throw Error("socket census over NETLINK_SOCK_DIAG", census.error); // the recording is discarded
  }
  recorder.commit();
  return census;
}

void run_census(const CensusArgs& args, int& exit_code)
{
  if (args.all_netns) {
    if (args.sample > 0.0 || !args.dump_file.empty() || !args.from_dump.empty()) {
      throw Error("--all-netns",
                  "counts every namespace once and takes no --sample, --dump-file or --from-dump "
                  "(`plan --all-netns --sample N` watches every namespace in one window)");
    }
    require_netns_switching("--all-netns");
    const NodeCensus node = census_node({ .top_n = args.top,
                                          .want_timestamps = !args.no_timestamps,
                                          .reader = socket_reader_from(args.socket_reader) });
    const std::string text =
      args.format == "json" ? json_text(node_census_to_json(node)) + "\n" : node_census_to_text(node);
    std::fputs(text.c_str(), stdout);
    exit_code = 0;
    return;
  }
  const auto netns = enter_netns_arg(args.netns);
  const bool live = args.from_dump.empty();
  const SymptomEvidence evidence = live ? watch_symptoms(args) : counters_evidence(k_no_window);
  const SocketCensus census = live ? live_census(args) : replay_census(args);
  std::string out;
  if (args.format == "json") {
    nlohmann::json j = census_to_json(census);
    j["evidence"] = evidence_to_json(evidence);
    if (netns) { // --netns: which namespace was counted
      j["netns"] = netns_to_json(*netns);
    }
    out = json_text(make_document(DocumentKind::census, current_host_named(netns), j)) + "\n";
  } else {
    if (netns) {
      out = fmt::format(
        "network namespace {} ({}), inode {}\n", netns->name, to_string(netns->kind), netns->inode);
    }
    out += census_to_text(census, text_width_of_stdout()) + evidence_to_text(evidence, args.top) + "\n" +
           evidence_line(evidence) + "\n";
  }
  std::fputs(out.c_str(), stdout);
  exit_code = 0;
}

} // namespace

void add_census_command(CLI::App& app, int& exit_code)
{
  auto args = std::make_shared<CensusArgs>();
  CLI::App* cmd = app.add_subcommand(
    "census",
    "The TCP socket role mix of this network namespace: who creates the TIME_WAIT, and whether any\n"
    "destination is running out of source ports. Reads only; root is not needed.");
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({ "text", "json" }));
  cmd
    ->add_option(
      "--top",
      args->top,
      "Destination groups to show: the top N by pressure plus the top N by TIME_WAIT (busiest first)")
    ->type_name("N")
    ->check(number_range(1, 100000));
  auto* no_timestamps =
    cmd->add_flag("--no-timestamps",
                  args->no_timestamps,
                  "Do not ask for tcp_info (faster on huge hosts; no timestamp share then)");
  auto* dump_file = cmd->add_option("--dump-file",
                                    args->dump_file,
                                    "Also record the raw sock_diag replies and the port sysctls to FILE, "
                                    "for --from-dump (like `ss -D FILE`)");
  dump_file->type_name("FILE");
  cmd
    ->add_option("--from-dump",
                 args->from_dump,
                 "Take the census from a recording made with --dump-file instead of the kernel\n"
                 "(not with --dump-file, --no-timestamps or --sample)")
    ->type_name("FILE")
    ->excludes(dump_file)
    ->excludes(no_timestamps);
  auto* sample = cmd->add_option("--sample",
                                 args->sample,
                                 "First watch SECONDS with the BPF evidence probe (root, or CAP_BPF and\n"
                                 "CAP_PERFMON): failed connect() and bind(), recycled TIME_WAIT, by process");
  sample->type_name("SECONDS")->check(number_range(0.0, 3600.0))->excludes("--from-dump");
  cmd->add_flag("--no-probe", args->no_probe, "With --sample: do not load the probe (counters only)");
  auto* netns = add_netns_option(cmd, args->netns, "count");
  auto* all_netns = cmd
                      ->add_flag("--all-netns",
                                 args->all_netns,
                                 "Count every network namespace (pods, containers,\n"
                                 "ip netns), the most pressured first. Root. Not with --netns")
                      ->excludes(netns);
  add_socket_reader_option(cmd, args->socket_reader, all_netns);
  cmd->footer("Roles of TIME_WAIT sockets (whoever closes first holds TIME_WAIT for 60 s):\n"
              "  outbound  this host called connect(); the local port is ephemeral (inside\n"
              "            net.ipv4.ip_local_port_range) and nothing listens on it. Only these can be\n"
              "            helped by net.ipv4.tcp_tw_reuse.\n"
              "  inbound   this host accepted; the local port is a listening port (same or wildcard\n"
              "            address). tcp_tw_reuse never applies.\n"
              "  unknown   the evidence does not tell: a service listens inside the ephemeral range,\n"
              "            both ends are on loopback with ephemeral-looking ports, or the local port is\n"
              "            outside the range with nothing listening on it (outside_range in JSON).\n"
              "Pitfalls: listeners that have gone, clients that bind() a fixed port, and a port range\n"
              "changed within the last 60 s can make a socket look inbound or outbound wrongly.\n\n"
              "Destination groups are (local address, remote address, remote port): connect() needs one\n"
              "free local port per connection in each group, TIME_WAIT included, so pressure =\n"
              "ports in use / usable ports (the range less ip_local_reserved_ports). Near 1.0 means\n"
              "connect() is about to fail with EADDRNOTAVAIL for that destination.\n"
              "The timestamp share counts outbound ESTABLISHED connections that negotiated TCP\n"
              "timestamps: tcp_tw_reuse can only reuse a TIME_WAIT port whose connection had them.\n\n"
              "One network namespace is counted: the calling one, or --netns NAME|PATH|PID (a container:\n"
              "its PID); --all-netns counts every one (doc/netns.md). JSON fields: doc/census.md.\n\n"
              "The symptom itself: --sample N first watches N seconds with a BPF probe (root, or\n"
              "CAP_BPF and CAP_PERFMON) and then lists connect() by destination (OK, NOTAVAIL =\n"
              "EADDRNOTAVAIL, other errors, RECYCLED TIME_WAIT tuples, p50/p99 time) with the\n"
              "processes, and bind() to port 0 failing with EADDRINUSE (doc/probe.md).\n"
              "  sudo tw-advisor census --sample 5\n\n"
              "Recording and replaying: --dump-file FILE writes what this census saw: the\n"
              "ip_local_port_range and ip_local_reserved_ports values and, for each of its four dumps,\n"
              "exactly the bytes the kernel returned. --from-dump FILE decodes that instead of asking\n"
              "the kernel, with the recorded sysctls (not this host's) and the recorded --no-timestamps\n"
              "choice, and prints the same census the recording run printed: attach it to a bug report,\n"
              "or study a busy host elsewhere. The file is written only when the census succeeds, with\n"
              "mode 0600 (it lists every connection's addresses). Format: doc/census.md.\n"
              "  tw-advisor census --dump-file /tmp/host1.twdump\n"
              "  tw-advisor census --from-dump /tmp/host1.twdump --format json\n"
              "Exit codes: 0 census printed, 1 error (the step and the errno text are named).");
  cmd->callback([args, &exit_code] { run_census(*args, exit_code); });
}

} // namespace tw::cli
