#include "report/census_text.hpp"

#include "util/percent.hpp"

#include <algorithm>
#include <cstdio>
#include <sys/socket.h>

namespace tw {

namespace {

std::string format(const char* fmt, auto... args)
{
  char buf[512];
  const int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  return n < 0 ? std::string() : std::string(buf, std::min(static_cast<std::size_t>(n), sizeof(buf) - 1));
}

std::string endpoint(int family, const std::string& addr, unsigned port)
{
  return (family == AF_INET6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

} // namespace

std::string census_to_text(const SocketCensus& c)
{
  if (!c.available) {
    return "Socket census unavailable: " + c.error + "\n";
  }
  std::string out;
  out += format("TCP sockets: %llu", static_cast<unsigned long long>(c.total));
  out += format(" (%llu listening ports)\n", static_cast<unsigned long long>(c.listeners));
  for (std::size_t s = 1; s < k_tcp_state_slots; ++s) {
    if (c.states[s] != 0) {
      out += format("  %-14s %llu\n", tcp_state_name(s), static_cast<unsigned long long>(c.states[s]));
    }
  }
  const auto tw_total = c.time_wait.outbound + c.time_wait.inbound + c.time_wait.unknown;
  out += format("\nTIME_WAIT by role (%llu):\n", static_cast<unsigned long long>(tw_total));
  out += format("  outbound  %llu (%s)  we connected: tcp_tw_reuse can free these ports\n",
                static_cast<unsigned long long>(c.time_wait.outbound),
                percent_of(c.time_wait.outbound, tw_total).c_str());
  out += format("  inbound   %llu (%s)  we accepted: tcp_tw_reuse never applies\n",
                static_cast<unsigned long long>(c.time_wait.inbound),
                percent_of(c.time_wait.inbound, tw_total).c_str());
  out += format("  unknown   %llu (%s)  the evidence does not tell",
                static_cast<unsigned long long>(c.time_wait.unknown),
                percent_of(c.time_wait.unknown, tw_total).c_str());
  if (c.time_wait.outside_range > 0) {
    out += format(" (%llu of them outside the current port range, no listener: see notes)",
                  static_cast<unsigned long long>(c.time_wait.outside_range));
  }
  out += "\n";

  out += "\nSource ports by destination (outbound, busiest first)";
  if (c.port_range) {
    out += format(": range %u-%u, %llu usable",
                  c.port_range->low,
                  c.port_range->high,
                  static_cast<unsigned long long>(c.usable_ports));
  }
  out += "\n";
  if (c.groups.empty()) {
    out += "  (no outbound connections)\n";
  } else {
    out += format("  %-44s %-46s %9s %9s %8s\n", "local", "remote", "in use", "TIME_WAIT", "pressure");
    for (const auto& g : c.groups) {
      const auto remote = endpoint(g.family, g.remote, g.remote_port) + v4_mapped_note(g);
      const std::string ts = g.outbound_established == 0
                               ? std::string()
                               : format("  timestamps %llu/%llu",
                                        static_cast<unsigned long long>(g.with_timestamps),
                                        static_cast<unsigned long long>(g.outbound_established));
      out += format("  %-44s %-46s %9llu %9llu %7.1f%%%s%s\n",
                    g.local.c_str(),
                    remote.c_str(),
                    static_cast<unsigned long long>(g.in_use),
                    static_cast<unsigned long long>(g.time_wait),
                    100.0 * g.pressure,
                    g.loopback ? "  loopback" : "",
                    ts.c_str());
    }
    if (c.group_count > c.groups.size()) {
      out +=
        format("  ... %llu more groups\n", static_cast<unsigned long long>(c.group_count - c.groups.size()));
    }
  }

  out += "\nTCP timestamps on outbound established connections: ";
  if (const auto share = c.timestamps.share()) {
    out += format("%llu of %llu negotiated (%.0f%%)\n",
                  static_cast<unsigned long long>(c.timestamps.with_timestamps),
                  static_cast<unsigned long long>(c.timestamps.outbound_established),
                  100.0 * *share);
  } else {
    out += "none to look at\n";
  }
  if (!c.notes.empty()) {
    out += "\nNotes:\n";
    for (const auto& n : c.notes) {
      out += "  - " + n + "\n";
    }
  }
  return out;
}

} // namespace tw
