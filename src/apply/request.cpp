#include "apply/request.hpp"

#include "apply/canary.hpp"
#include "facts/counters.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/oci_bundles.hpp"
#include "facts/probe.hpp"
#include "facts/tuned.hpp"
#include "reader/plan_reader.hpp"
#include "sysctld/resolver.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <cmath>

namespace tw {

namespace {

// "50", "12.5", "0.25": a percentage as a person writes it (at most two decimals, no trailing zeros).
std::string percent_text(double percent)
{
  std::string out = fmt::format("{:.2f}", std::round(percent * 100.0) / 100.0);
  while (out.find('.') != std::string::npos && (out.back() == '0' || out.back() == '.')) {
    out.pop_back();
  }
  return out;
}

} // namespace

CanaryChoice choose_canary(const Policy& policy, std::optional<double> percent, const std::string& host_id)
{
  const double p = percent.value_or(static_cast<double>(policy.canary_percent.value));
  const auto bucket = canary_bucket(host_id);
  const auto threshold = canary_threshold(p);
  CanaryChoice out;
  out.selected = bucket < threshold;
  out.canary = JournalCanary{ host_id, p, bucket };
  out.reason = out.selected ? "in the canary cohort: bucket " + std::to_string(bucket) + " < " +
                                std::to_string(threshold) + " (" + percent_text(p) + "%)"
                            : "not in the canary cohort: this host's bucket is " + std::to_string(bucket) +
                                ", " + percent_text(p) + "% selects buckets below " +
                                std::to_string(threshold) + " (of 10000); nothing was changed";
  return out;
}

std::optional<std::chrono::seconds> choose_watch(const Policy& policy,
                                                 std::optional<std::chrono::seconds> given,
                                                 bool canary)
{
  if (given) {
    return given;
  }
  if (canary) {
    return std::chrono::seconds(policy.canary_watch_seconds.value);
  }
  if (policy.watch_duration_seconds.value > 0) {
    return std::chrono::seconds(policy.watch_duration_seconds.value); // the site's default
  }
  return std::nullopt;
}

PlanToApply reviewed_plan(const std::filesystem::path& path,
                          bool accept_other_host,
                          const std::function<void(const std::string&)>& note)
{
  const std::string bytes = read_file_or_throw(path);
  PlanToApply out;
  out.sha256 = sha256_hex(bytes);
  out.source = std::filesystem::absolute(path).string();
  PlanDocument doc;
  try {
    doc = plan_document_from_json_text(bytes, path.string());
  } catch (const Error& e) {
    throw Error(e.subject(), e.reason() + "; nothing was changed");
  }
  out.source_nat =
    doc.plan.finding("source-nat") != nullptr || doc.plan.finding("recycled-connects-failed") != nullptr;
  for (const auto& c : doc.plan.changes) {
    out.changes.push_back({ c.key, c.current, c.target });
    out.reasons.push_back(c.reason);
  }
  if (const auto problem = verdict_problem(doc.plan.verdict, out.changes.size())) {
    throw Error("plan " + path.string(), *problem + "; nothing was changed");
  }
  out.hostname = doc.hostname;
  out.netns = doc.netns;
  out.netns_kind = doc.netns_kind;
  out.netns_name = doc.netns_name;
  const std::uint64_t here = current_netns_inode();
  const std::string this_host = current_hostname();
  const std::string name = out.netns_kind == "host" ? std::string("host") : out.netns_name;
  if (auto mismatch = host_mismatch(out.hostname, out.netns, this_host, here, name)) {
    if (!accept_other_host) {
      // The plan's namespace is on this host and reachable (netns_spec_of never names the
      // host's): say how to apply it there, as options to add, so the others given are kept.
      // From another namespace apply changes runtime values only (sysctl.d is the host's).
      std::string there;
      if (out.netns != here && out.netns != 0 && out.hostname == this_host) {
        if (const auto spec = netns_spec_of(out.netns)) {
          there = "; to apply it in its namespace, add `--netns " + shell_word(*spec) + " --no-persist`";
        }
      }
      throw Error(
        "plan " + path.string(),
        *mismatch + "; nothing was changed" + there +
          "; else make the plan where it is applied, or pass --ignore-host-mismatch if this is really "
          "meant");
    }
    note(*mismatch + " (--ignore-host-mismatch)");
  }
  return out;
}

PlanToApply computed_plan(const Plan& plan, const std::string& plan_sha256)
{
  PlanToApply out;
  out.source_nat =
    plan.finding("source-nat") != nullptr || plan.finding("recycled-connects-failed") != nullptr;
  for (const auto& c : plan.changes) {
    out.changes.push_back({ c.key, c.current, c.target });
    out.reasons.push_back(c.reason);
  }
  out.source = "computed (verdict " + std::string(to_string(plan.verdict)) + ")";
  out.sha256 = plan_sha256;
  return out;
}

ApplyRequest make_request(const Policy& policy, const PlanToApply& plan, const RequestOptions& options)
{
  if (options.watch.count() > 0 && policy.watch_rules.empty()) {
    throw Error("policy " + policy.source,
                "has no watch rules, but this apply would watch for " + format_duration(options.watch) +
                  ": a watch without rules judges nothing and always passes. Add watch.rules to the policy, "
                  "or apply with --watch 0; nothing was changed");
  }
  // Which namespace this is, asked once (a walk of /proc outside the host's) and only when the
  // host's own tree is the target:
  // - A plan judged in a pod's or container's namespace is about that namespace's traffic: in the
  //   host's namespace it would change the host (and its boot file). Refused even when the host
  //   mismatch is waived, since the way to apply it is --netns.
  // - /etc/sysctl.d is applied to the host's namespace at boot and never reaches another one: a
  //   file written from inside a container's namespace would change the host at its next boot.
  if ((!plan.netns_kind.empty() || options.persist) && is_host_tree(options.root)) {
    if (const auto here = identify_netns(current_netns_inode())) {
      if (auto problem = foreign_plan_problem(plan.netns_kind, plan.netns_name, plan.source, *here)) {
        throw Error("plan " + plan.source, *problem);
      }
      if (auto refusal = options.persist ? foreign_netns_persist(*here, host_netns_inode()) : std::nullopt) {
        throw Error(refusal->first, refusal->second);
      }
    }
  }
  // Another tuner whose value wins over sysctl.d for a changed key would undo the change at its
  // next run: two tuners fighting over a key is refused unless --force. TuneD sets the host's own
  // network namespace only: an apply in another one does not fight it. There, the container
  // runtime's declared value (a pod's securityContext.sysctls) comes back when the namespace is
  // made again, or when that container starts: changing it only here is refused the same way.
  const std::uint64_t host_ns = host_netns_inode();
  const std::uint64_t here_ns = current_netns_inode();
  if (!options.force && !plan.changes.empty() && host_ns != 0) {
    std::vector<std::string> keys;
    for (const auto& c : plan.changes) {
      keys.push_back(c.key);
    }
    const auto claims =
      here_ns == host_ns
        ? tuner_claims(options.root, keys)
        : namespace_boot_facts(read_oci_bundles(options.root, "/proc"), here_ns, keys).tuners;
    for (const auto& claim : claims) {
      const auto change = std::find_if(plan.changes.begin(),
                                       plan.changes.end(),
                                       [&](const ProposedChange& c) { return c.key == claim.key; });
      if (!claim.overrides_sysctld || change == plan.changes.end() ||
          !claim.conflicts_with(change->proposed)) {
        continue;
      }
      if (here_ns != host_ns) {
        throw Error(claim.owner,
                    "sets " + claim.key + " = " + claim.value + " (" + claim.source + ") and " +
                      claim.effect + "; set " + claim.key + " = " + change->proposed +
                      " there instead, or apply --force to change it here until then; nothing was changed");
      }
      throw Error(claim.owner,
                  "sets " + claim.key + " = " + claim.value + " (" + claim.source + ") and " + claim.effect +
                    "; set " + claim.key + " = " + change->proposed +
                    (claim.in_container() ? " in the Tuned resource that profile is rendered from (Node "
                                            "Tuning Operator)"
                                          : " in that profile") +
                    " instead, or apply --force to change it anyway; nothing was changed");
    }
  }
  ApplyRequest request;
  request.root = options.root;
  request.proc_sys = options.proc_sys;
  request.state_dir = options.state_dir;
  request.persist = options.persist;
  request.canary = options.canary;
  request.command = options.command;
  request.rollback_hint = options.rollback_hint;
  for (const auto& g : policy.guardrails) {
    request.allowed_keys.insert(g.key);
  }
  request.override_check =
    [](const std::filesystem::path& root, const std::string& name, const Settings& settings) {
      return sysctld::overrides_at_boot(root, std::filesystem::path(k_sysctld_dir) / name, settings);
    };
  request.watch.duration = options.watch;
  for (const auto& rule : policy.watch_rules) {
    request.watch.thresholds.push_back({ rule.counter, rule.max_rise_per_second, rule.id });
  }
  request.watch.read_counters = [] { return read_counters(); };
  if (options.watch.count() > 0 && options.probe) {
    // Attached by the applier right before the baseline, detached when its reader goes.
    request.watch.attach_symptoms = [] {
      auto probe = std::make_shared<const EvidenceProbe>(ProbeOptions{});
      if (!probe->attached()) {
        return SymptomReader{ {}, "no probe: " + probe->reason() };
      }
      return SymptomReader{ [probe] { return symptom_counts(probe->collect(0.0)); }, {} };
    };
  }
  request.changes = plan.changes;
  // A fresh plan was read a moment ago (any difference is a race); a reviewed one must still hold.
  request.check_current = true;
  request.plan_source = plan.source;
  request.plan_sha256 = plan.sha256;
  // Guardrails: the value ranges the policy allows, checked before anything is touched.
  for (const auto& c : request.changes) {
    if (request.allowed_keys.count(c.key) != 0 && !has_control_char(c.proposed) &&
        !policy.allows(c.key, c.proposed)) {
      throw Error("plan " + request.plan_source,
                  c.key + " = \"" + printable(c.proposed) + "\" is outside what policy " + policy.id +
                    " allows; nothing was changed");
    }
  }
  return request;
}

std::optional<std::string> unwatched_nat_warning(const PlanToApply& plan,
                                                 std::chrono::seconds watch,
                                                 bool canary)
{
  if (!plan.source_nat || watch.count() > 0) {
    return std::nullopt;
  }
  // Where reuse can hurt (reused tuples colliding behind SNAT), an unwatched change is the risk.
  return std::string("the plan found source NAT in the path, or measured recycled connects failing "
                     "(findings source-nat, recycled-connects-failed), where reused ports can make "
                     "connects stall, and nothing watches this change: ") +
         (canary ? "drop --watch 0 to keep the canary's watch" : "prefer --canary, or add --watch 5m");
}

std::map<std::string, BootSetting> boot_settings(const std::filesystem::path& root,
                                                 const std::vector<std::string>& keys)
{
  const auto resolution = sysctld::resolve(root, sysctld::boot_loader(root));
  std::map<std::string, BootSetting> out;
  for (const auto& key : keys) {
    const auto outcome = resolution.outcome(key);
    if (outcome.winner && outcome.winner->value) {
      out[key] = { *outcome.winner->value,
                   outcome.winner->file + ":" + std::to_string(outcome.winner->line) };
    }
  }
  return out;
}

} // namespace tw
