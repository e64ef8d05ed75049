#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// One tunable value of a policy or profile: like a TuneD option, it says what it is and why.
template<typename T>
struct Setting
{
  std::string id;          // stable name, as written in the YAML file
  T value{};               // the value in force
  std::string description; // one line: what it controls
  std::string rationale;   // why this value
};

// A sysctl the policy lets the tool change, and the range every number in its value must lie in.
struct Guardrail
{
  std::string id;  // stable rule id, e.g. "allow-tw-reuse"
  std::string key; // dotted sysctl name
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::string description;
  std::string rationale;

  // True when value is one or more whitespace-separated integers, each within [min, max].
  bool allows(std::string_view value) const;
};

// A health counter `apply` watches after a change: it rolls back when the counter's rate during
// the watch exceeds its pre-apply baseline rate by more than max_rise_per_second.
struct WatchRule
{
  std::string id;      // stable rule id, e.g. "paws-active"
  std::string counter; // "Tcp.AttemptFails", "TcpExt.PAWSActive" (as tw::Counters names them)
  double max_rise_per_second = 0.0;
  std::string description;
  std::string rationale;
};

// What the organisation allows and how cautious to be: thresholds of the verdict, guardrails on
// writes, and the watch/canary defaults `apply` uses. Default-constructed, it is the built-in policy
// that policies/default.yaml documents.
struct Policy
{
  std::string id = "builtin";
  std::string description = "Built-in defaults (policies/default.yaml documents them)";
  std::string rationale;
  std::string source; // file it was loaded from, empty for built-in

  // thresholds
  Setting<double> time_wait_pressure{
    "time_wait_pressure",
    0.5,
    "Share of a destination group's usable ports held in outbound TIME_WAIT that counts as TIME_WAIT "
    "pressure (the census's in_use/usable pressure counts every state; this counts only what reuse frees)",
    "Below half the range, connect() still finds free ports easily."
  };
  Setting<double> exhaustion{ "exhaustion",
                              0.95,
                              "Share of a group's usable ports in use (any state) that counts as exhausted",
                              "Near the end of the range connect() fails with EADDRNOTAVAIL." };
  Setting<double> exhaustion_time_wait_share{
    "exhaustion_time_wait_share",
    0.1,
    "In an exhausted group, the TIME_WAIT share of usable ports that makes tw_reuse worth it",
    "Freeing a tenth of the range is a real relief when connects are failing."
  };
  Setting<double> min_timestamp_share{ "min_timestamp_share",
                                       0.9,
                                       "Share of live outbound connections with negotiated timestamps below "
                                       "which the tcp_timestamps prerequisite warns",
                                       "Only connections that negotiated timestamps can be reused." };
  Setting<std::int64_t> min_timestamp_sample{
    "min_timestamp_sample",
    10,
    "Fewest live outbound connections needed to judge the timestamp share",
    "A share over a handful of connections says little."
  };
  Setting<double> peer_refusal_share{
    "peer_refusal_share",
    0.1,
    "In a pressured destination group with at least min_timestamp_sample live outbound connections, a "
    "negotiated-timestamp share at or below this means the peer refuses timestamps",
    "TIME_WAIT sockets of connections without timestamps are never reused; no sysctl here fixes a peer."
  };
  Setting<std::int64_t> narrow_port_range{ "narrow_port_range",
                                           10000,
                                           "ip_local_port_range sizes below this are reported as narrow",
                                           "The kernel default holds 28232 ports." };
  Setting<double> reserved_share{ "reserved_share",
                                  0.1,
                                  "Share of the ephemeral range in ip_local_reserved_ports that warns",
                                  "Reserved ports are never picked by connect()." };
  Setting<std::int64_t> slow_tw_reuse_delay_ms{
    "slow_tw_reuse_delay_ms",
    10000,
    "tcp_tw_reuse_delay values (ms) at or above this are reported as slowing reuse down",
    "TIME_WAIT lasts 60 s; a long delay leaves little of it reusable."
  };

  // fixes
  Setting<bool> propose_prerequisite_fixes{
    "propose_prerequisite_fixes",
    true,
    "Whether the plan may set net.ipv4.tcp_timestamps to 1 when it is 0, and net.ipv4.tcp_tw_reuse_delay "
    "to the kernel default 1000 ms when it is 60000",
    "Timestamps are on by default; turning them off disables tw_reuse and PAWS. A reuse delay as long as "
    "TIME_WAIT makes tw_reuse a no-op too."
  };

  // guardrails: the only keys the plan may change (and `check` accepts), with value ranges
  std::vector<Guardrail> guardrails = {
    { "allow-tw-reuse",
      "net.ipv4.tcp_tw_reuse",
      0,
      2,
      "tcp_tw_reuse may be set to 0, 1 or 2",
      "The subject of the tool." },
    { "allow-timestamps",
      "net.ipv4.tcp_timestamps",
      1,
      2,
      "tcp_timestamps may be 1 or 2, never 0",
      "0 makes tw_reuse a no-op and removes PAWS protection." },
    { "allow-tw-reuse-delay",
      "net.ipv4.tcp_tw_reuse_delay",
      1,
      60000,
      "tcp_tw_reuse_delay may be 1..60000 ms (the kernel's range)",
      "Kernels since 6.14 have it; the plan sets it to 1000 only when 60000 leaves no reusable time." },
    { "allow-port-range",
      "net.ipv4.ip_local_port_range",
      1024,
      65535,
      "ip_local_port_range ends within 1024..65535",
      "Below 1024 clients would take service ports." },
  };

  // watch (apply --watch)
  Setting<std::int64_t> watch_duration_seconds{
    "duration_seconds",
    0,
    "Watch window of an apply without --watch or --canary, in seconds (0: watch only when asked)",
    "A site that wants every change watched sets it; by default a plain apply returns at once."
  };
  std::vector<WatchRule> watch_rules = {
    { "attempt-fails",
      "Tcp.AttemptFails",
      5.0,
      "Failed connection attempts",
      "Rises when SYNs are rejected after a tuple is reused." },
    { "paws-active",
      "TcpExt.PAWSActive",
      1.0,
      "SYN-ACKs with a bad echoed timestamp",
      "The client side sign of a PAWS clash." },
    { "paws-estab",
      "TcpExt.PAWSEstab",
      1.0,
      "Segments dropped by PAWS on established connections",
      "Timestamps going backwards, as behind NAT." },
    { "tsecr-rejected",
      "TcpExt.TSEcrRejected",
      1.0,
      "Segments with a rejected echoed timestamp",
      "Another PAWS symptom." },
    { "syn-retrans",
      "TcpExt.TCPSynRetrans",
      10.0,
      "SYN retransmissions",
      "Rises when peers drop SYNs on reused tuples." },
  };

  // canary (apply --canary)
  Setting<std::int64_t> canary_percent{ "percent",
                                        10,
                                        "Default share of hosts (percent) in the canary cohort",
                                        "Few enough that a bad change hurts little." };
  Setting<std::int64_t> canary_watch_seconds{ "watch_seconds",
                                              600,
                                              "Default watch window of a canary apply, in seconds",
                                              "Canaries watch longer than a plain apply." };

  // The guardrail for key, or nullptr when the policy does not allow changing it.
  const Guardrail* guardrail_for(std::string_view key) const;
  // True when the policy allows writing value to key.
  bool allows(std::string_view key, std::string_view value) const;
};

} // namespace tw
