#include "report/census_text.hpp"

#include "report/processes_text.hpp"
#include "util/percent.hpp"
#include "util/wrap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <sys/socket.h>
#include <utility>
#include <vector>

namespace tw {

std::string census_to_text(const SocketCensus& c, std::size_t width)
{
  if (!c.available) {
    return "Socket census unavailable: " + c.error + "\n";
  }
  std::string out;
  out += fmt::format("TCP sockets: {}", static_cast<unsigned long long>(c.total));
  out += fmt::format(
    " ({} listening port{})\n", static_cast<unsigned long long>(c.listeners), c.listeners == 1 ? "" : "s");
  for (std::size_t s = 1; s < k_tcp_state_slots; ++s) {
    if (c.states[s] != 0) {
      out += fmt::format("  {:<14} {}\n", tcp_state_name(s), static_cast<unsigned long long>(c.states[s]));
    }
  }
  const auto tw_total = c.time_wait.outbound + c.time_wait.inbound + c.time_wait.unknown;
  out += fmt::format("\nTIME_WAIT by role ({}):\n", static_cast<unsigned long long>(tw_total));
  // The three roles as a table: counts right-aligned, shares in one column, texts in another.
  const std::array<std::pair<const char*, std::uint64_t>, 3> roles = { {
    { "outbound", c.time_wait.outbound },
    { "inbound", c.time_wait.inbound },
    { "unknown", c.time_wait.unknown },
  } };
  std::size_t count_width = 0;
  std::size_t share_width = 0;
  for (const auto& [name, n] : roles) {
    count_width = std::max(count_width, std::to_string(n).size());
    share_width = std::max(share_width, percent_of(n, tw_total).size() + 2);
  }
  const auto role_line = [&](std::size_t i, const char* text) {
    const auto& [name, n] = roles[i];
    return fmt::format("  {:<8}  {:>{}} {:<{}}  {}",
                       name,
                       static_cast<unsigned long long>(n),
                       count_width,
                       "(" + percent_of(n, tw_total) + ")",
                       share_width,
                       text);
  };
  out += role_line(0, "we connected: tcp_tw_reuse can free these ports") + "\n";
  out += role_line(1, "we accepted: tcp_tw_reuse never applies") + "\n";
  const std::string unknown = role_line(2, "the evidence does not tell");
  // The clause about sockets outside the range goes whole beside it, or whole on the next line.
  out += unknown;
  if (c.time_wait.outside_range > 0) {
    const std::string outside =
      fmt::format("({} of them outside the current port range, no listener: see notes)",
                  static_cast<unsigned long long>(c.time_wait.outside_range));
    const std::string under(12, ' ');
    if (unknown.size() + 1 + outside.size() <= width) {
      out += " " + outside;
    } else if (under.size() + outside.size() <= width) {
      out += "\n" + under + outside;
    } else {
      out += "\n" + wrap_text(outside, width, under, under);
      out.pop_back(); // the newline below ends it
    }
  }
  out += "\n";

  // The range on the header's line when it fits, else on its own line under it (never split).
  const std::string ports = "Source ports by destination (outbound, busiest first)";
  const std::string range = c.port_range ? fmt::format("range {}-{}, {} usable",
                                                       c.port_range->low,
                                                       c.port_range->high,
                                                       static_cast<unsigned long long>(c.usable_ports))
                                         : std::string();
  if (range.empty()) {
    out += "\n" + ports + "\n";
  } else if (ports.size() + 2 + range.size() <= width) {
    out += "\n" + ports + ": " + range + "\n";
  } else {
    out += "\n" + ports + ":\n  " + range + "\n";
  }
  if (c.groups.empty()) {
    out += "  (no outbound connections)\n";
  } else {
    // Column widths come from the rows themselves: IPv4 tables stay narrow, IPv6 rows still align.
    std::vector<std::string> remotes;
    std::size_t local_width = std::string_view("local").size();
    std::size_t remote_width = std::string_view("remote").size();
    for (const auto& g : c.groups) {
      remotes.push_back(endpoint_text(g.family, g.remote, g.remote_port) + v4_mapped_note(g));
      local_width = std::max(local_width, g.local.size());
      remote_width = std::max(remote_width, remotes.back().size());
    }
    out += fmt::format("  {:<{}} {:<{}} {:>9} {:>9} {:>8}\n",
                       "local",
                       local_width,
                       "remote",
                       remote_width,
                       "in use",
                       "TIME_WAIT",
                       "pressure");
    for (std::size_t i = 0; i < c.groups.size(); ++i) {
      const auto& g = c.groups[i];
      const std::string ts = g.outbound_established == 0
                               ? std::string()
                               : fmt::format("  timestamps {}/{}", g.with_timestamps, g.outbound_established);
      out += fmt::format("  {:<{}} {:<{}} {:>9} {:>9} {:>7.1f}%{}{}\n",
                         g.local,
                         local_width,
                         remotes[i],
                         remote_width,
                         g.in_use,
                         g.time_wait,
                         100.0 * g.pressure,
                         g.loopback ? "  loopback" : "",
                         ts);
    }
    if (c.group_count > c.groups.size()) {
      out += fmt::format("  ... {} more groups\n",
                         static_cast<unsigned long long>(c.group_count - c.groups.size()));
    }
  }

  out += "\nTCP timestamps on outbound established connections: ";
  if (const auto share = c.timestamps.share()) {
    out += fmt::format("{} of {} negotiated ({:.0f}%)\n",
                       static_cast<unsigned long long>(c.timestamps.with_timestamps),
                       static_cast<unsigned long long>(c.timestamps.outbound_established),
                       100.0 * *share);
  } else {
    out += "none to look at\n";
  }
  out += "\n" + processes_to_text(c.processes);
  if (!c.notes.empty()) {
    out += "\nNotes:\n";
    for (const auto& n : c.notes) {
      out += wrap_text(n, width, "  - ", "    ");
    }
  }
  return out;
}

} // namespace tw
