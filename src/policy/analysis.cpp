#include "policy/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sys/socket.h>

namespace tw::policy {

namespace {

double share_of(std::uint64_t part, std::uint64_t whole)
{
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

bool covers(std::int64_t tw_reuse, const DestGroup& group)
{
  // tcp_twsk_unique(): 1 reuses for all traffic, 2 only when the TIME_WAIT socket is bound to lo
  // or either address is 127/8, ::1 or ::ffff:127.x.
  return tw_reuse == 1 || (tw_reuse == 2 && group.loopback);
}

std::uint64_t count_reserved_in(const PortRange& range, const std::vector<PortRange>& reserved)
{
  // Ranges in the list may overlap; count each port once.
  std::vector<bool> seen(range.size(), false);
  std::uint64_t n = 0;
  for (const auto& r : reserved) {
    const std::uint32_t lo = std::max(r.low, range.low);
    const std::uint32_t hi = std::min(r.high, range.high);
    for (std::uint32_t p = lo; p <= hi && lo <= hi; ++p) {
      if (!seen[p - range.low]) {
        seen[p - range.low] = true;
        ++n;
      }
    }
  }
  return n;
}

} // namespace

std::string unreadable_text(const Sysctls& sysctls, const std::string& key)
{
  const SysctlValue* v = sysctls.find(key);
  if (v == nullptr) {
    return key + ": not read";
  }
  std::string text = key + ": " + to_string(v->status);
  if (v->status == ReadStatus::ok) {
    text = key + ": unparsable value \"" + v->value + "\"";
  } else if (!v->detail.empty()) {
    text += " (" + v->detail + ")";
  }
  return text;
}

std::string group_name(const DestGroup& group)
{
  const bool v6 = group.family == AF_INET6;
  return group.local + " -> " + (v6 ? "[" + group.remote + "]" : group.remote) + ":" +
         std::to_string(group.remote_port);
}

std::string percent(double share)
{
  const double pct = share * 100.0;
  char buf[32];
  if (pct > 0.0 && pct < 1.0) {
    std::snprintf(buf, sizeof(buf), "%.1f%%", pct);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f%%", std::floor(pct + 0.5));
  }
  return buf;
}

std::string number(double value)
{
  char buf[64];
  if (std::fabs(value - std::round(value)) < 1e-9 && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g", value);
  }
  return buf;
}

Analysis analyse(const Facts& facts, const Profile& profile, const Policy& policy)
{
  Analysis a(facts, profile, policy);
  a.pressure_threshold = profile.pressure ? profile.pressure->value : policy.pressure.value;
  const Sysctls& s = facts.sysctls;
  const SocketCensus& c = facts.sockets;

  a.tw_reuse = s.get_int("net.ipv4.tcp_tw_reuse");
  a.timestamps = s.get_int("net.ipv4.tcp_timestamps");
  a.port_range = s.local_port_range();
  if (!a.port_range && c.port_range) {
    a.port_range = c.port_range;
  }
  a.reserved = s.reserved_ports();
  if (a.port_range) {
    a.reserved_in_range = a.reserved ? count_reserved_in(*a.port_range, *a.reserved) : 0;
    const std::uint64_t size = a.port_range->size();
    a.usable_ports = size >= a.reserved_in_range ? size - a.reserved_in_range : 0;
  }
  if (c.available && c.usable_ports > 0) {
    a.usable_ports = c.usable_ports; // what the census classified with
  }
  a.time_wait_total = c.states[static_cast<std::size_t>(TcpState::time_wait)];

  if (!c.available) {
    a.missing.push_back("socket census unavailable" +
                        (c.error.empty() ? std::string() : " (" + c.error + ")"));
  } else if (!a.port_range) {
    a.missing.push_back(unreadable_text(s, "net.ipv4.ip_local_port_range") +
                        ": TIME_WAIT roles and port pressure cannot be told without the ephemeral range");
  }

  a.groups.reserve(c.groups.size());
  for (const auto& g : c.groups) {
    GroupView v;
    v.group = &g;
    v.usable = g.usable > 0 ? g.usable : a.usable_ports;
    v.time_wait_share = share_of(g.time_wait, v.usable);
    v.in_use_share = share_of(g.in_use, v.usable);
    v.exhausted = v.usable > 0 && v.in_use_share >= policy.exhaustion.value;
    v.pressured =
      v.usable > 0 && (v.time_wait_share >= a.pressure_threshold ||
                       (v.exhausted && v.time_wait_share >= policy.exhaustion_time_wait_share.value));
    v.covered = a.tw_reuse && covers(*a.tw_reuse, g);
    a.groups.push_back(v);
  }
  for (const auto& v : a.groups) {
    if (v.pressured) {
      a.pressured.push_back(&v);
    }
    if (a.busiest == nullptr || v.time_wait_share > a.busiest->time_wait_share) {
      a.busiest = &v;
    }
  }
  std::stable_sort(a.pressured.begin(), a.pressured.end(), [](const GroupView* x, const GroupView* y) {
    return x->time_wait_share > y->time_wait_share;
  });
  for (const auto* v : a.pressured) {
    if (!v->covered) {
      a.uncovered.push_back(v);
    }
  }

  const NatEvidence& n = facts.nat;
  const bool rules = n.nat_rules_present.value_or(false) && !n.nat_rules.empty();
  a.nat_evidence = rules || n.snat_entries > 0 || (n.nat_rules_present.value_or(false) && n.random_fully);
  a.nat_readable = n.nat_rules_present.has_value() || n.conntrack_available;
  return a;
}

} // namespace tw::policy
