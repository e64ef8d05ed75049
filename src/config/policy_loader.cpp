// Policies: thresholds, guardrails, prerequisite fixes, watch and canary defaults, as data.
#include "config/default_policy.hpp"
#include "config/loader.hpp"
#include "config/yaml_strict.hpp"
#include "model/counters.hpp"
#include "model/sysctl.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/sysctl_key.hpp"

#include <algorithm>
#include <set>

namespace tw::config {

namespace {

bool valid_id(const std::string& id)
{
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool valid_counter(const std::string& name)
{
  const auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 >= name.size() ||
      name.find('.', dot + 1) != std::string::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

class PolicyReader
{
public:
  // complete: every setting must be given (the built-in policy); else a missing one keeps its value.
  PolicyReader(const StrictDoc& doc, bool complete)
    : m_doc(doc)
    , m_complete(complete)
  {
  }

  // Reads one setting's value/description/rationale into s (keeping its id).
  template<typename T, typename Fn>
  void setting(const YAML::Node& group, Setting<T>& s, Fn parse_value)
  {
    const YAML::Node node = group[s.id];
    if (!node) {
      if (m_complete) {
        m_doc.fail(group, "'" + s.id + "' is missing: the built-in policy must set every value");
      }
      return; // keeps the built-in default
    }
    const std::string what = "'" + s.id + "'";
    m_doc.expect_fields(node, what, { "value", "description", "rationale" });
    m_doc.require(node, "value", what);
    m_doc.require(node, "description", what);
    m_doc.require(node, "rationale", what);
    s.value = parse_value(node["value"], what + " value");
    s.description = m_doc.string(node["description"], what + " description");
    s.rationale = m_doc.string(node["rationale"], what + " rationale");
  }

  void real(const YAML::Node& group, Setting<double>& s, double min, double max)
  {
    setting(
      group, s, [&](const YAML::Node& v, const std::string& what) { return m_doc.real(v, what, min, max); });
  }
  void integer(const YAML::Node& group, Setting<std::int64_t>& s, std::int64_t min, std::int64_t max)
  {
    setting(group, s, [&](const YAML::Node& v, const std::string& what) {
      return m_doc.integer(v, what, min, max);
    });
  }
  void boolean(const YAML::Node& group, Setting<bool>& s)
  {
    setting(group, s, [&](const YAML::Node& v, const std::string& what) { return m_doc.boolean(v, what); });
  }

  std::vector<Guardrail> guardrails(const YAML::Node& list)
  {
    m_doc.expect_sequence(list, "guardrails");
    std::vector<Guardrail> out;
    std::set<std::string> ids;
    std::set<std::string> keys;
    for (const auto& item : list) {
      const std::string what = "guardrail";
      m_doc.expect_fields(item, what, { "id", "key", "min", "max", "description", "rationale" });
      for (const char* f : { "id", "key", "min", "max", "description", "rationale" }) {
        m_doc.require(item, f, what);
      }
      Guardrail g;
      g.id = m_doc.string(item["id"], "guardrail id");
      if (!valid_id(g.id)) {
        m_doc.fail(item["id"], "guardrail id: '" + g.id + "' must be lower-case letters, digits, '-' or '_'");
      }
      if (!ids.insert(g.id).second) {
        m_doc.fail(item["id"], "guardrail id: duplicate '" + g.id + "'");
      }
      g.key = m_doc.string(item["key"], "guardrail '" + g.id + "' key");
      if (!is_valid_sysctl_key(g.key) || g.key.rfind("net.", 0) != 0) {
        m_doc.fail(item["key"],
                   "guardrail '" + g.id + "' key: '" + g.key + "' is not a dotted net.* sysctl name");
      }
      if (!keys.insert(g.key).second) {
        m_doc.fail(item["key"], "guardrail '" + g.id + "' key: " + g.key + " already has a guardrail");
      }
      if (g.key == "net.ipv4.tcp_tw_recycle") {
        m_doc.fail(item["key"],
                   "guardrail '" + g.id +
                     "': net.ipv4.tcp_tw_recycle was removed in Linux 4.12 and broke clients behind "
                     "NAT; it can never be allowed");
      }
      g.min = m_doc.integer(item["min"], "guardrail '" + g.id + "' min", INT64_MIN, INT64_MAX);
      g.max = m_doc.integer(item["max"], "guardrail '" + g.id + "' max", INT64_MIN, INT64_MAX);
      if (g.min > g.max) {
        m_doc.fail(item["max"],
                   "guardrail '" + g.id + "': max " + std::to_string(g.max) + " is below min " +
                     std::to_string(g.min));
      }
      if (g.key == k_timestamps && g.min < 1) {
        m_doc.fail(item["min"],
                   "guardrail '" + g.id +
                     "' min: tcp_timestamps=0 makes tcp_tw_reuse a no-op and removes PAWS; the "
                     "lowest allowed value is 1");
      }
      g.description = m_doc.string(item["description"], "guardrail '" + g.id + "' description");
      g.rationale = m_doc.string(item["rationale"], "guardrail '" + g.id + "' rationale");
      out.push_back(std::move(g));
    }
    return out;
  }

  std::vector<WatchRule> watch_rules(const YAML::Node& list)
  {
    m_doc.expect_sequence(list, "watch rules");
    std::vector<WatchRule> out;
    std::set<std::string> ids;
    for (const auto& item : list) {
      const std::string what = "watch rule";
      m_doc.expect_fields(item, what, { "id", "counter", "max_rise_per_second", "description", "rationale" });
      for (const char* f : { "id", "counter", "max_rise_per_second", "description", "rationale" }) {
        m_doc.require(item, f, what);
      }
      WatchRule r;
      r.id = m_doc.string(item["id"], "watch rule id");
      if (!valid_id(r.id) || !ids.insert(r.id).second) {
        m_doc.fail(item["id"],
                   "watch rule id: '" + r.id + "' must be unique lower-case letters, digits, '-', '_'");
      }
      r.counter = m_doc.string(item["counter"], "watch rule '" + r.id + "' counter");
      if (!valid_counter(r.counter)) {
        m_doc.fail(item["counter"],
                   "watch rule '" + r.id + "' counter: '" + r.counter +
                     "' is not Prefix.Name (e.g. TcpExt.PAWSActive)");
      }
      const auto& known = known_counter_names();
      if (std::find(known.begin(), known.end(), r.counter) == known.end()) {
        const auto near = closest_word(r.counter, known, 3);
        m_doc.fail(item["counter"],
                   "watch rule '" + r.id + "' counter: '" + r.counter + "' is not a kernel counter" +
                     (near ? " (did you mean " + *near + "?)" : "") +
                     "; a rule names a Tcp.* counter of /proc/net/snmp or a TcpExt.* counter of "
                     "/proc/net/netstat, e.g. Tcp.AttemptFails, TcpExt.PAWSActive, TcpExt.TCPSynRetrans. "
                     "A counter that does not exist would never be judged");
      }
      r.max_rise_per_second =
        m_doc.real(item["max_rise_per_second"], "watch rule '" + r.id + "' max_rise_per_second", 0.0, 1e9);
      r.description = m_doc.string(item["description"], "watch rule '" + r.id + "' description");
      r.rationale = m_doc.string(item["rationale"], "watch rule '" + r.id + "' rationale");
      out.push_back(std::move(r));
    }
    return out;
  }

private:
  const StrictDoc& m_doc;
  bool m_complete = false;
};

// Reads doc over base: fields left out keep base's values (unless complete, when they are errors).
Policy read_policy(const StrictDoc& doc, Policy policy, bool complete)
{
  const YAML::Node& root = doc.root();
  doc.expect_fields(
    root,
    "policy",
    { "id", "description", "rationale", "thresholds", "leaks", "fixes", "guardrails", "watch", "canary" });
  if (complete) {
    for (const char* section : { "thresholds", "leaks", "fixes", "guardrails", "watch", "canary" }) {
      doc.require(root, section, "policy");
    }
  }
  doc.require(root, "id", "policy");
  doc.require(root, "description", "policy");
  doc.require(root, "rationale", "policy");
  policy.id = doc.string(root["id"], "policy id");
  if (!valid_id(policy.id)) {
    doc.fail(root["id"], "policy id: '" + policy.id + "' must be lower-case letters, digits, '-' or '_'");
  }
  policy.description = doc.string(root["description"], "policy description");
  policy.rationale = doc.string(root["rationale"], "policy rationale");
  policy.source = doc.file().string();
  PolicyReader r(doc, complete);

  if (const YAML::Node t = root["thresholds"]) {
    if (t.IsMap() && t["pressure"]) {
      doc.fail(t["pressure"],
               "thresholds: 'pressure' was renamed 'time_wait_pressure' (it is the TIME_WAIT share of a "
               "group's usable ports, not the census's in_use pressure)");
    }
    doc.expect_fields(t,
                      "thresholds",
                      { "time_wait_pressure",
                        "exhaustion",
                        "exhaustion_time_wait_share",
                        "min_timestamp_share",
                        "min_timestamp_sample",
                        "peer_refusal_share",
                        "narrow_port_range",
                        "reserved_share",
                        "slow_tw_reuse_delay_ms" });
    r.real(t, policy.time_wait_pressure, 0.01, 1.0);
    r.real(t, policy.exhaustion, 0.5, 1.0);
    r.real(t, policy.exhaustion_time_wait_share, 0.0, 1.0);
    if (policy.exhaustion_time_wait_share.value <= 0.0) {
      doc.fail(t["exhaustion_time_wait_share"]["value"],
               "'exhaustion_time_wait_share' value: must be above 0 (0 would count any exhausted group, "
               "even one without TIME_WAIT, as helped by tcp_tw_reuse); the range is (0, 1]");
    }
    r.real(t, policy.min_timestamp_share, 0.0, 1.0);
    r.integer(t, policy.min_timestamp_sample, 0, 1000000);
    r.real(t, policy.peer_refusal_share, 0.0, 1.0);
    if (policy.peer_refusal_share.value >= policy.min_timestamp_share.value &&
        policy.min_timestamp_share.value > 0.0) {
      doc.fail(t["peer_refusal_share"] ? t["peer_refusal_share"]["value"] : t,
               "'peer_refusal_share' " + std::to_string(policy.peer_refusal_share.value) +
                 " must be below min_timestamp_share " + std::to_string(policy.min_timestamp_share.value));
    }
    r.integer(t, policy.narrow_port_range, 1, 65536);
    r.real(t, policy.reserved_share, 0.0, 1.0);
    r.integer(t, policy.slow_tw_reuse_delay_ms, 1, 60000);
  }
  if (const YAML::Node l = root["leaks"]) {
    doc.expect_fields(l,
                      "leaks",
                      { "close_wait_per_process",
                        "churn_per_second",
                        "imbalance_share",
                        "orphans_share",
                        "established_growth" });
    r.integer(l, policy.close_wait_per_process, 1, 1000000);
    r.real(l, policy.churn_per_second, 1.0, 1e7);
    r.real(l, policy.imbalance_share, 0.01, 1.0);
    r.real(l, policy.orphans_share, 0.01, 1.0);
    r.integer(l, policy.established_growth, 1, 1000000);
  }
  if (const YAML::Node f = root["fixes"]) {
    doc.expect_fields(f, "fixes", { "propose_prerequisite_fixes" });
    r.boolean(f, policy.propose_prerequisite_fixes);
  }
  if (const YAML::Node g = root["guardrails"]) {
    policy.guardrails = r.guardrails(g);
  }
  if (const YAML::Node w = root["watch"]) {
    if (w.IsMap() && w["interval_seconds"]) {
      doc.fail(w["interval_seconds"],
               "watch: 'interval_seconds' was removed (the watch samples every second); delete it. Note that "
               "watch.duration_seconds now sets the watch of every apply given neither --watch nor --canary");
    }
    doc.expect_fields(w, "watch", { "duration_seconds", "rules" });
    r.integer(w, policy.watch_duration_seconds, 0, 86400);
    if (const YAML::Node rules = w["rules"]) {
      policy.watch_rules = r.watch_rules(rules);
      if (policy.watch_rules.empty() && policy.watch_duration_seconds.value > 0) {
        doc.fail(rules,
                 "watch rules: empty, but duration_seconds asks every apply to watch for " +
                   std::to_string(policy.watch_duration_seconds.value) +
                   " s; a watch without rules would judge nothing and always pass. Add rules, or set "
                   "duration_seconds to 0");
      }
    }
  }
  if (const YAML::Node c = root["canary"]) {
    doc.expect_fields(c, "canary", { "percent", "watch_seconds" });
    r.integer(c, policy.canary_percent, 0, 100);
    r.integer(c, policy.canary_watch_seconds, 0, 86400);
  }
  return policy;
}

} // namespace

const Policy& builtin_policy()
{
  // policies/default.yaml, embedded at build time: its values exist once, in that file.
  static const Policy policy = [] {
    const StrictDoc doc("built-in policy (policies/default.yaml)", std::string(k_default_policy_yaml));
    return read_policy(doc, Policy{}, true);
  }();
  return policy;
}

Policy load_policy_file(const std::filesystem::path& file)
{
  return read_policy(StrictDoc(file), builtin_policy(), false);
}

Policy load_policy(const std::string& path, const std::filesystem::path& data_dir)
{
  if (!path.empty()) {
    return load_policy_file(path);
  }
  return load_policy_file(data_dir / "policies" / "default.yaml");
}

} // namespace tw::config
