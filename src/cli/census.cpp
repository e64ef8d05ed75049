// `tw-advisor census`: who is creating TIME_WAIT here, and is any destination running out of
// source ports. Reads only; works without root (sock_diag dumps are unprivileged).
#include "facts/census.hpp"

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "report/census_json.hpp"
#include "report/census_text.hpp"
#include "util/error.hpp"

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
};

void run_census(const CensusArgs& args, int& exit_code)
{
  CensusOptions options = live_census_options();
  options.top_n = args.top;
  options.want_timestamps = !args.no_timestamps;
  const SocketCensus census = take_census(options);
  if (!census.available) {
    throw Error("socket census over NETLINK_SOCK_DIAG", census.error);
  }
  const std::string out =
    args.format == "json" ? census_to_json(census).dump(2) + "\n" : census_to_text(census);
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
    ->check(number_range(1, 100000));
  cmd->add_flag("--no-timestamps",
                args->no_timestamps,
                "Do not ask for tcp_info (faster on huge hosts; no timestamp share then)");
  cmd->footer("Roles of TIME_WAIT sockets (whoever closes first holds TIME_WAIT for 60 s):\n"
              "  outbound  this host called connect(); the local port is ephemeral (inside\n"
              "            net.ipv4.ip_local_port_range) and nothing listens on it. Only these can be\n"
              "            helped by net.ipv4.tcp_tw_reuse.\n"
              "  inbound   this host accepted; the local port is a listening port (same or wildcard\n"
              "            address) or lies outside the ephemeral range. tcp_tw_reuse never applies.\n"
              "  unknown   the evidence does not tell: a service listens inside the ephemeral range,\n"
              "            or both ends are on loopback with ephemeral-looking ports.\n"
              "Pitfalls: listeners that have gone, clients that bind() a fixed port, and a port range\n"
              "changed within the last 60 s can make a socket look inbound or outbound wrongly.\n\n"
              "Destination groups are (local address, remote address, remote port): connect() needs one\n"
              "free local port per connection in each group, TIME_WAIT included, so pressure =\n"
              "ports in use / usable ports (the range less ip_local_reserved_ports). Near 1.0 means\n"
              "connect() is about to fail with EADDRNOTAVAIL for that destination.\n"
              "The timestamp share counts outbound ESTABLISHED connections that negotiated TCP\n"
              "timestamps: tcp_tw_reuse can only reuse a TIME_WAIT port whose connection had them.\n\n"
              "Only the calling network namespace is counted: run it inside a container's netns\n"
              "(`ip netns exec`, `nsenter -n`) to see that container. JSON fields: doc/census.md.\n"
              "Exit codes: 0 census printed, 1 error (the step and the errno text are named).");
  cmd->callback([args, &exit_code] { run_census(*args, exit_code); });
}

} // namespace tw::cli
