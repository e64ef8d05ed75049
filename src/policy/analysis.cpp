#include "policy/analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
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
         std::to_string(group.remote_port) + v4_mapped_note(group);
}

std::uint64_t timestamp_sample(const Policy& policy)
{
  return static_cast<std::uint64_t>(std::max<std::int64_t>(1, policy.min_timestamp_sample.value));
}

PeerTimestamps peer_timestamps(const DestGroup& group, const Policy& policy)
{
  if (group.outbound_established < timestamp_sample(policy)) {
    return PeerTimestamps::unknown;
  }
  const double share = share_of(group.with_timestamps, group.outbound_established);
  return share <= policy.peer_refusal_share.value ? PeerTimestamps::refused : PeerTimestamps::agreed;
}

std::string peer_sample_text(const DestGroup& group)
{
  return std::to_string(group.with_timestamps) + " of " + std::to_string(group.outbound_established) +
         " live outbound connections to " + group_name(group) + " negotiated timestamps (" +
         percent_of(group.with_timestamps, group.outbound_established) + ")";
}

std::string reuse_delay_text(const Sysctls& sysctls)
{
  const std::string key = k_tw_reuse_delay;
  const SysctlValue* v = sysctls.find(key);
  if (v != nullptr && v->status == ReadStatus::absent) {
    return "about 1 s after the peer's last timestamp (no " + key + " before Linux 6.14)";
  }
  if (const auto delay = sysctls.get_int(key)) {
    return std::to_string(*delay) + " ms after close (" + key + ")";
  }
  return "after " + key + " ms (unreadable here: " + unreadable_text(sysctls, key) + ")";
}

double reusable_share(std::int64_t delay_ms)
{
  const std::int64_t left = std::clamp<std::int64_t>(k_time_wait_ms - delay_ms, 0, k_time_wait_ms);
  return static_cast<double>(left) / static_cast<double>(k_time_wait_ms);
}

std::string relief_text(const Analysis& a, std::uint64_t time_wait)
{
  if (!a.planned_delay_ms) {
    return {};
  }
  const double share = reusable_share(*a.planned_delay_ms);
  const auto reusable = static_cast<std::uint64_t>(std::llround(static_cast<double>(time_wait) * share));
  const std::string delay = a.delay_absent
                              ? "the pre-6.14 reuse delay of about 1 s"
                              : "tcp_tw_reuse_delay " + std::to_string(*a.planned_delay_ms) + " ms";
  return "with " + delay + ", " + percent(share) + " of each socket's 60 s is reusable: about " +
         std::to_string(reusable) + " of the " + std::to_string(time_wait) +
         " TIME_WAIT ports there at a time";
}

std::string number(double value)
{
  if (std::fabs(value - std::round(value)) < 1e-9 && std::fabs(value) < 1e15) {
    return fmt::format("{:.0f}", value);
  }
  return fmt::format("{:.3g}", value);
}

Analysis analyse(const Facts& facts, const Profile& profile, const Policy& policy)
{
  Analysis a(facts, profile, policy);
  a.time_wait_pressure =
    profile.time_wait_pressure ? profile.time_wait_pressure->value : policy.time_wait_pressure.value;
  const Sysctls& s = facts.sysctls;
  const SocketCensus& c = facts.sockets;

  a.tw_reuse = s.get_int(k_tw_reuse);
  a.timestamps = s.get_int(k_timestamps);
  a.port_range = s.local_port_range();
  if (!a.port_range && c.port_range) {
    a.port_range = c.port_range;
  }
  a.reserved = s.reserved_ports();
  if (a.port_range) {
    a.usable_ports = a.port_range->size();
  }
  if (c.available && c.usable_ports > 0) {
    a.usable_ports = c.usable_ports; // what the census classified with (range less reserved ports)
    // The census counted the reserved ports of its range once; the engine does not count again.
    const PortRange census_range = c.port_range.value_or(a.port_range.value_or(PortRange{}));
    if (a.port_range && census_range.low == a.port_range->low && census_range.high == a.port_range->high &&
        c.usable_ports <= a.port_range->size()) {
      a.reserved_in_range = a.port_range->size() - c.usable_ports;
      a.reserved_counted = true;
    }
  } else if (a.reserved && a.reserved->empty()) {
    a.reserved_counted = true; // nothing reserved: nothing to count
  }
  a.time_wait_total = c.states[static_cast<std::size_t>(TcpState::time_wait)];

  const std::string delay_key = k_tw_reuse_delay;
  const SysctlValue* delay = s.find(delay_key);
  a.delay_absent = delay != nullptr && delay->status == ReadStatus::absent;
  if (a.delay_absent) {
    a.reuse_delay_ms = k_default_reuse_delay_ms; // before 6.14: about 1 s after the peer's last TSval
  } else {
    a.reuse_delay_ms = s.get_int(delay_key);
  }
  a.delay_useless = a.reuse_delay_ms && *a.reuse_delay_ms >= k_time_wait_ms;
  a.delay_fixable = a.delay_useless && policy.propose_prerequisite_fixes.value &&
                    policy.allows(delay_key, std::to_string(k_default_reuse_delay_ms));
  a.planned_delay_ms =
    a.delay_fixable ? std::optional<std::int64_t>(k_default_reuse_delay_ms) : a.reuse_delay_ms;

  if (!c.available) {
    a.missing.push_back("socket census unavailable" +
                        (c.error.empty() ? std::string() : " (" + c.error + ")"));
  } else if (!a.port_range) {
    a.missing.push_back(unreadable_text(s, k_port_range) +
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
      v.usable > 0 && (v.time_wait_share >= a.time_wait_pressure ||
                       (v.exhausted && v.time_wait_share >= policy.exhaustion_time_wait_share.value));
    v.covered = a.tw_reuse && covers(*a.tw_reuse, g);
    v.reuse_works = v.covered && a.timestamps && *a.timestamps != 0 && !a.delay_useless;
    a.groups.push_back(v);
  }
  a.probed = facts.evidence.source == EvidenceSource::probe;
  for (auto& v : a.groups) {
    if (!a.probed) {
      break;
    }
    const DestGroup& g = *v.group;
    v.symptom = facts.evidence.destination(endpoint_text(g.family, g.remote, g.remote_port));
    if (!v.pressured || (v.symptom != nullptr && v.symptom->connect_eaddrnotavail > 0)) {
      continue;
    }
    const std::string family = g.family == AF_INET6 ? "ipv6" : "ipv4";
    const std::string wildcard = g.family == AF_INET6 ? "::" : "0.0.0.0";
    // A process that connect()s there is the one whose bind() fails: when the probe saw any,
    // the failing bind() must come from one of them (an unrelated bind() client excuses nothing).
    const auto same_process = [&v](const SymptomBindFailure& b) {
      if (v.symptom == nullptr || v.symptom->processes.empty()) {
        return true; // every bind() failed, so it never reached connect(): nothing to compare
      }
      for (const auto& connecting : v.symptom->processes) {
        for (const auto& p : b.processes) {
          if (connecting.pid == p.pid) {
            return true;
          }
        }
      }
      return false;
    };
    for (const auto& b : facts.evidence.bind_eaddrinuse) {
      // A dual-stack socket bound to :: connects to IPv4 destinations through v4-mapped addresses.
      const bool local =
        (b.family == family && (b.local == g.local || b.local == wildcard)) || b.local == "::";
      if (local && same_process(b)) {
        v.bind_driven = true;
        if (std::find(a.bind_failures.begin(), a.bind_failures.end(), &b) == a.bind_failures.end()) {
          a.bind_failures.push_back(&b);
        }
      }
    }
  }
  for (const auto& v : a.groups) {
    if (v.bind_driven) {
      a.bind_driven.push_back(&v);
    } else if (v.pressured) {
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

  // Peer agreement matters only when this host offers timestamps: with tcp_timestamps=0 no
  // connection negotiates them, whatever the peer would do.
  if (a.timestamps && *a.timestamps != 0) {
    for (const auto* v : a.pressured) {
      switch (peer_timestamps(*v->group, policy)) {
        case PeerTimestamps::refused:
          a.peer_refused.push_back(v);
          break;
        case PeerTimestamps::unknown:
          a.peer_unknown.push_back(v);
          break;
        case PeerTimestamps::agreed:
          a.peer_agreed.push_back(v);
          break;
      }
    }
  }

  const NatEvidence& n = facts.nat;
  const bool rules = n.nat_rules_present.value_or(false) && !n.nat_rules.empty();
  a.nat_evidence = rules || n.snat_entries > 0 || (n.nat_rules_present.value_or(false) && n.random_fully);
  a.nat_readable = n.nat_rules_present.has_value() || n.conntrack_available;
  // Recycled connects that failed are the danger NAT poses, measured: canary first whatever NAT says.
  a.nat_possible = a.nat_evidence || !a.nat_readable || recycled_failing(a) != nullptr;
  return a;
}

std::string processes_text(const std::vector<SymptomProcess>& processes)
{
  const auto one = [](const SymptomProcess& p) { return std::to_string(p.pid) + " (" + p.comm + ")"; };
  if (processes.empty()) {
    return "no process recorded";
  }
  if (processes.size() == 1) {
    return "pid " + one(processes.front());
  }
  std::string out = "pids " + one(processes[0]);
  const std::size_t shown = std::min<std::size_t>(processes.size(), 3);
  for (std::size_t i = 1; i < shown; ++i) {
    out += (i + 1 == shown && processes.size() == shown ? " and " : ", ") + one(processes[i]);
  }
  if (processes.size() > shown) {
    out += " and " + std::to_string(processes.size() - shown) + " more";
  }
  return out;
}

std::string eaddrnotavail_text(const SymptomDestination& d, double window_seconds)
{
  std::vector<SymptomProcess> failing;
  for (const auto& p : d.processes) {
    if (p.eaddrnotavail > 0) {
      failing.push_back(p);
    }
  }
  return std::to_string(d.connect_eaddrnotavail) + " connect() calls failed with EADDRNOTAVAIL in " +
         number(window_seconds) + " s towards " + d.destination + ", " +
         (failing.size() == 1 ? "all from " : "from ") + processes_text(failing);
}

const SymptomDestination* recycled_failing(const Analysis& a)
{
  const SymptomDestination* worst = nullptr;
  for (const auto& d : a.facts.evidence.destinations) {
    if (d.recycled_failed > 0 && (worst == nullptr || d.recycled_failed > worst->recycled_failed)) {
      worst = &d;
    }
  }
  return a.probed ? worst : nullptr;
}

std::string recycled_failed_text(const SymptomDestination& d, double window_seconds)
{
  return std::to_string(d.recycled_failed) + " of " + std::to_string(d.recycled) +
         " connects that reused a TIME_WAIT tuple towards " + d.destination +
         " failed before ESTABLISHED in " + number(window_seconds) +
         " s: the peer, or a NAT in between, drops reused tuples (PAWS)";
}

} // namespace tw::policy
