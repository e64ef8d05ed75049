#include "report/plan_json.hpp"

#include "report/census_json.hpp"
#include "report/document.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/sysctl_key.hpp"
#include "util/version.hpp"

#include <cmath>
#include <set>
#include <sys/socket.h>

namespace tw {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Integral numbers are written as integers, so evidence reads "1000", not "1000.0".
ordered_json number_json(double v)
{
  if (std::isfinite(v) && std::fabs(v) < 9e15 && v == std::floor(v)) {
    return ordered_json(static_cast<std::int64_t>(v));
  }
  return ordered_json(v);
}

ordered_json evidence_json(const Evidence& e)
{
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : e) {
    out[k] = number_json(v);
  }
  return out;
}

ordered_json nullable(const std::string& s)
{
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}

// Other tuners' claims on a key (boot.tuners: TuneD; namespace_boot.tuners: a container runtime).
ordered_json tuners_json(const std::vector<TunerClaim>& claims)
{
  ordered_json out = ordered_json::array();
  for (const auto& t : claims) {
    out.push_back({ { "owner", t.owner },
                    { "key", t.key },
                    { "value", t.value },
                    { "source", t.source },
                    { "running", t.running },
                    { "overrides_sysctld", t.overrides_sysctld },
                    { "effect", t.effect } });
  }
  return out;
}

} // namespace

ordered_json facts_to_json(const Facts& facts)
{
  ordered_json j = ordered_json::object();
  j["kernel"] = facts.host.kernel_release;
  j["hostname"] = facts.host.hostname;
  j["netns"] = facts.host.netns_inode;
  if (!facts.host.netns_kind.empty()) {
    j["netns_kind"] = facts.host.netns_kind;
    j["netns_name"] = facts.host.netns_name;
  }
  ordered_json sysctls = ordered_json::object();
  for (const auto& [key, v] : facts.sysctls.values) {
    ordered_json s = { { "status", to_string(v.status) } };
    s["value"] = v.status == ReadStatus::ok ? ordered_json(v.value) : ordered_json(nullptr);
    s["detail"] = nullable(v.detail);
    sysctls[key] = std::move(s);
  }
  j["sysctls"] = std::move(sysctls);
  j["counters"] = { { "available", facts.counters.available },
                    { "error", nullable(facts.counters.error) },
                    { "values", facts.counters.values } };
  if (facts.rates) {
    ordered_json per_second = ordered_json::object();
    for (const auto& [k, v] : facts.rates->per_second) {
      per_second[k] = number_json(v);
    }
    j["rates"] = { { "interval_seconds", number_json(facts.rates->interval_seconds) },
                   { "delta", facts.rates->delta },
                   { "per_second", std::move(per_second) } };
  } else {
    j["rates"] = nullptr;
  }
  const EstablishedTrend& trend = facts.established;
  ordered_json trend_destinations = ordered_json::array();
  for (const auto& d : trend.destinations) {
    trend_destinations.push_back({ { "destination", d.destination },
                                   { "established", d.established },
                                   { "slope_per_second", number_json(d.slope_per_second) } });
  }
  ordered_json at_seconds = ordered_json::array();
  for (const double at : trend.at_seconds) {
    at_seconds.push_back(number_json(at));
  }
  j["established_trend"] = { { "measured", trend.measured },
                             { "error", nullable(trend.error) },
                             { "at_seconds", std::move(at_seconds) },
                             { "destinations_counted", trend.destinations_counted },
                             { "destinations", std::move(trend_destinations) } };
  const NatEvidence& n = facts.nat;
  j["nat"] = { { "conntrack_available", n.conntrack_available },
               { "conntrack_note", nullable(n.conntrack_note) },
               { "entries_scanned", n.entries_scanned },
               { "snat_entries", n.snat_entries },
               { "dnat_entries", n.dnat_entries },
               { "cap", n.cap },
               { "cap_hit", n.cap_hit },
               { "nat_rules_present",
                 n.nat_rules_present ? ordered_json(*n.nat_rules_present) : ordered_json(nullptr) },
               { "nat_rules", n.nat_rules },
               { "random_fully", n.random_fully },
               { "nat_rules_note", nullable(n.nat_rules_note) } };
  if (facts.boot) { // absent when not read (a replay of a recording made without it)
    const BootFacts& b = *facts.boot;
    ordered_json drift = ordered_json::array();
    for (const auto& d : b.drift) {
      drift.push_back({ { "key", d.key },
                        { "message", d.message },
                        { "line", d.line ? ordered_json(*d.line) : ordered_json(nullptr) } });
    }
    ordered_json generated = ordered_json::array();
    for (const auto& [key, value] : b.generated) {
      generated.push_back({ { "key", key }, { "value", value } });
    }
    ordered_json interrupted = nullptr;
    if (b.interrupted) {
      interrupted = { { "id", b.interrupted->id },
                      { "state", b.interrupted->state },
                      { "journal", b.interrupted->journal } };
    }
    j["boot"] = { { "loader", b.loader },
                  { "drift", std::move(drift) },
                  { "unreadable", b.unreadable },
                  { "generated_file", b.generated_file },
                  { "generated", std::move(generated) },
                  { "overridden", b.overridden },
                  { "interrupted", std::move(interrupted) },
                  { "tuners", tuners_json(b.tuners) } };
  }
  if (facts.namespace_boot) { // a namespace that is not the host's: sysctl.d does not reach it
    const NamespaceBootFacts& nb = *facts.namespace_boot;
    ordered_json containers = ordered_json::array();
    for (const auto& c : nb.containers) {
      containers.push_back({ { "owner", c.owner },
                             { "config", c.config },
                             { "pod", nullable(c.pod) },
                             { "running", c.running } });
    }
    j["namespace_boot"] = { { "sysctl_d_reaches", false },
                            { "containers", std::move(containers) },
                            { "unreadable", nb.unreadable },
                            { "tuners", tuners_json(nb.tuners) } };
  }
  if (facts.history) { // plan --since only
    const HistoryWindow& h = *facts.history;
    ordered_json peaks = ordered_json::array();
    for (const auto& p : h.peaks) {
      peaks.push_back({ { "at_unix", number_json(p.at_unix) }, { "group", group_to_json(p.group) } });
    }
    ordered_json failures = ordered_json::array();
    for (const auto& f : h.failures) {
      failures.push_back({ { "destination", f.destination },
                           { "eaddrnotavail", f.eaddrnotavail },
                           { "recycled_failed", f.recycled_failed } });
    }
    const auto optional_time = [](const std::optional<double>& t) {
      return t ? number_json(*t) : ordered_json(nullptr);
    };
    j["history"] = { { "path", h.path },
                     { "since_seconds", number_json(h.since_seconds) },
                     { "read_at_unix", number_json(h.read_at_unix) },
                     { "available", h.available },
                     { "error", nullable(h.error) },
                     { "records", h.records },
                     { "skipped_lines", h.skipped },
                     { "first_at_unix", optional_time(h.first_at_unix) },
                     { "last_at_unix", optional_time(h.last_at_unix) },
                     { "peaks", std::move(peaks) },
                     { "failures", std::move(failures) } };
  }
  return j;
}

ordered_json plan_to_json(const Plan& plan, const Facts& facts)
{
  ordered_json j = ordered_json::object();
  j["verdict"] = to_string(plan.verdict);
  j["reasons"] = plan.reasons;
  j["missing"] = plan.missing;
  ordered_json changes = ordered_json::array();
  for (const auto& c : plan.changes) {
    changes.push_back(
      { { "key", c.key }, { "old", c.current }, { "new", c.target }, { "reason", c.reason } });
  }
  j["changes"] = std::move(changes);
  ordered_json prereqs = ordered_json::array();
  for (const auto& p : plan.prerequisites) {
    prereqs.push_back({ { "id", p.id }, { "status", to_string(p.status) }, { "detail", p.detail } });
  }
  j["prerequisites"] = std::move(prereqs);
  ordered_json findings = ordered_json::array();
  for (const auto& f : plan.findings) {
    ordered_json item = { { "id", f.id },
                          { "severity", to_string(f.severity) },
                          { "summary", f.summary },
                          { "evidence", evidence_json(f.evidence) },
                          { "rationale", f.rationale } };
    if (!f.told_in.empty()) {
      item["told_in"] = f.told_in;
    }
    findings.push_back(std::move(item));
  }
  j["findings"] = std::move(findings);
  ordered_json advice = ordered_json::array();
  for (const auto& a : plan.advice) {
    advice.push_back({ { "id", a.id },
                       { "text", a.text },
                       { "rationale", a.rationale },
                       { "evidence", evidence_json(a.evidence) } });
  }
  j["advice"] = std::move(advice);
  if (plan.persist) {
    const auto lines = [](const Settings& settings) {
      std::vector<std::string> out;
      for (const auto& [key, value] : settings) {
        out.push_back(key + " = " + value);
      }
      return out;
    };
    j["persist"] = { { "file", plan.persist->file },
                     { "old", lines(plan.persist->old_settings) },
                     { "new", lines(plan.persist->new_settings) } };
  }
  j["profile"] = plan.profile_id;
  j["policy"] = plan.policy_id;
  j["sockets"] = ordered_json(census_to_json(facts.sockets));
  j["evidence"] = ordered_json(evidence_to_json(facts.evidence));
  j["facts"] = facts_to_json(facts);
  return j;
}

ordered_json plan_document(const Plan& plan, const Facts& facts)
{
  return make_document(DocumentKind::plan, facts.host, plan_to_json(plan, facts));
}

} // namespace tw
