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
// writes, and the watch/canary defaults `apply` uses. Default-constructed it holds only the ids of
// its settings; the values come from YAML: config::builtin_policy() is policies/default.yaml as
// embedded in the binary, and a site policy is read over it.
struct Policy
{
  std::string id;
  std::string description;
  std::string rationale;
  std::string source; // file it was loaded from, empty for built-in

  // thresholds
  Setting<double> time_wait_pressure{ "time_wait_pressure", {}, {}, {} };
  Setting<double> exhaustion{ "exhaustion", {}, {}, {} };
  Setting<double> exhaustion_time_wait_share{ "exhaustion_time_wait_share", {}, {}, {} };
  Setting<double> min_timestamp_share{ "min_timestamp_share", {}, {}, {} };
  Setting<std::int64_t> min_timestamp_sample{ "min_timestamp_sample", {}, {}, {} };
  Setting<double> peer_refusal_share{ "peer_refusal_share", {}, {}, {} };
  Setting<std::int64_t> narrow_port_range{ "narrow_port_range", {}, {}, {} };
  Setting<double> reserved_share{ "reserved_share", {}, {}, {} };
  Setting<std::int64_t> slow_tw_reuse_delay_ms{ "slow_tw_reuse_delay_ms", {}, {}, {} };

  // leaks: when the connection model itself is the problem (policy/processes.cpp)
  Setting<std::int64_t> close_wait_per_process{ "close_wait_per_process", {}, {}, {} };
  Setting<double> churn_per_second{ "churn_per_second", {}, {}, {} };
  Setting<double> imbalance_share{ "imbalance_share", {}, {}, {} };
  Setting<double> orphans_share{ "orphans_share", {}, {}, {} };
  Setting<std::int64_t> established_growth{ "established_growth", {}, {}, {} };

  // fixes
  Setting<bool> propose_prerequisite_fixes{ "propose_prerequisite_fixes", {}, {}, {} };

  // guardrails: the only keys the plan may change (and `check` accepts), with value ranges
  std::vector<Guardrail> guardrails;

  // watch (apply --watch)
  Setting<std::int64_t> watch_duration_seconds{ "duration_seconds", {}, {}, {} };
  std::vector<WatchRule> watch_rules;

  // canary (apply --canary)
  Setting<std::int64_t> canary_percent{ "percent", {}, {}, {} };
  Setting<std::int64_t> canary_watch_seconds{ "watch_seconds", {}, {}, {} };

  // The guardrail for key, or nullptr when the policy does not allow changing it.
  const Guardrail* guardrail_for(std::string_view key) const;
  // True when the policy allows writing value to key.
  bool allows(std::string_view key, std::string_view value) const;
};

} // namespace tw
