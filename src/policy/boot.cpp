// The rules over the boot configuration and the apply state (BootFacts): what a plan must say
// about sysctl.d drift, unreadable configuration, a generated file that would not win at boot,
// and an apply that never finished.
#include "policy/boot.hpp"

#include "model/sysctl.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <map>

namespace tw::policy {

namespace {

void drift_findings(const BootFacts& boot, Plan& plan)
{
  for (const auto& d : boot.drift) {
    Finding f;
    f.id = "boot-drift";
    f.severity = Severity::warning;
    f.summary = d.message;
    if (d.line) {
      f.evidence = { { "line", static_cast<double>(*d.line) } };
    }
    f.rationale = "a runtime value that no winning sysctl.d file holds is lost at the next boot, and a boot "
                  "value that differs will come back; this host boots with " +
                  boot.loader;
    plan.findings.push_back(std::move(f));
  }
}

void unreadable_finding(const BootFacts& boot, Plan& plan)
{
  if (boot.unreadable.empty()) {
    return;
  }
  std::string listed;
  for (const auto& u : boot.unreadable) {
    listed += (listed.empty() ? "" : ", ") + u;
  }
  Finding f;
  f.id = "sysctld-unreadable";
  f.severity = Severity::warning;
  f.summary =
    "cannot read " + listed + ": what sysctl.d sets at boot is incomplete (run as root to see it all)";
  f.evidence = { { "paths", static_cast<double>(boot.unreadable.size()) } };
  f.rationale = "a loader running as root at boot reads these files; a value set there may undo a runtime "
                "change or be the drift an operator is looking for";
  plan.findings.push_back(std::move(f));
}

// apply persists the changes in the generated file (what an earlier apply left there plus these
// changes) and refuses when another file would override any of it at boot: say so now.
void persist_findings(const BootFacts& boot, Plan& plan)
{
  Settings updates;
  for (const auto& c : plan.changes) {
    updates.emplace_back(c.key, c.target);
  }
  if (updates.empty()) {
    return;
  }
  plan.persist =
    PersistPreview{ boot.generated_file, boot.generated, merge_settings(boot.generated, updates) };
  std::map<std::string, std::string> refused; // by key, as apply names them
  for (const auto& [key, value] : plan.persist->new_settings) {
    if (const auto it = boot.overridden.find(key); it != boot.overridden.end()) {
      refused.emplace(key, it->second);
    }
  }
  for (const auto& [key, why] : refused) {
    Finding f;
    f.id = "persist-overridden";
    f.severity = Severity::warning;
    f.summary = "apply would refuse to persist " + key + " in " + boot.generated_file + ": " + why +
                "; change that file first, or apply with --no-persist (runtime only, lost at reboot)";
    f.rationale =
      "a generated file that another file overrides at boot would leave the next boot undoing the "
      "change; apply refuses rather than persist something that does not hold";
    plan.findings.push_back(std::move(f));
  }
}

// An apply that was interrupted (crash, kill, power loss) leaves its journal behind; apply refuses
// until rollback has run, and the runtime values may be half-changed. Said before anything else.
void interrupted_finding(const BootFacts& boot, Plan& plan)
{
  if (!boot.interrupted) {
    return;
  }
  const auto& i = *boot.interrupted;
  Finding f;
  f.id = "apply-interrupted";
  f.severity = Severity::error;
  f.summary = "an apply (" + i.id + ") was interrupted in state " + i.state + " (journal " + i.journal +
              "): apply refuses until `tw-advisor rollback` runs";
  f.rationale =
    "the values read now may be a half-applied change: `tw-advisor rollback` restores the snapshot, "
    "then plan again";
  plan.reasons.insert(
    plan.reasons.begin(),
    "An earlier apply never finished: the values read now may be half-applied, and apply refuses "
    "until it is rolled back (finding apply-interrupted says how).");
  plan.findings.insert(plan.findings.begin(), std::move(f));
}

// Another tuner (TuneD) sets a key this plan changes: say who, and what its next run does. A
// warning when its value would win over apply's file (it does not re-apply sysctl.d after its
// own), context otherwise.
void tuner_findings(const BootFacts& boot, Plan& plan)
{
  for (const auto& t : boot.tuners) {
    const auto change =
      std::find_if(plan.changes.begin(), plan.changes.end(), [&](const Change& c) { return c.key == t.key; });
    if (change == plan.changes.end() || !t.conflicts_with(change->target)) {
      continue; // it sets what the plan wants, or the plan does not touch the key
    }
    Finding f;
    f.id = "tuner-owns-key";
    f.severity = t.overrides_sysctld ? Severity::warning : Severity::info;
    f.summary = t.owner + " sets " + t.key + " = " + t.value + " (" + t.source + "; tuned " +
                (t.running ? "running" : "not seen running") + "): " + t.effect;
    f.evidence = { { "running", t.running ? 1.0 : 0.0 },
                   { "overrides_sysctld", t.overrides_sysctld ? 1.0 : 0.0 } };
    f.rationale =
      t.overrides_sysctld
        ? std::string("two tuners fighting over one key leave it to whichever ran last: set it in the "
                      "tuner's ") +
            (t.in_container() ? "Tuned resource (the Node Tuning Operator renders the profile from it: "
                                "`oc get tuned -n openshift-cluster-node-tuning-operator`)"
                              : "profile") +
            " instead, or remove it there, before applying"
        : "TuneD's value holds only between its start and its re-application of sysctl.d; put the "
          "value in its profile too so the two agree";
    plan.findings.push_back(std::move(f));
  }
}

} // namespace

void add_namespace_boot_findings(const NamespaceBootFacts& boot, Plan& plan)
{
  for (const auto& t : boot.tuners) {
    const auto change =
      std::find_if(plan.changes.begin(), plan.changes.end(), [&](const Change& c) { return c.key == t.key; });
    if (change == plan.changes.end() || !t.conflicts_with(change->target)) {
      continue; // it sets what the plan wants, or the plan does not touch the key
    }
    Finding f;
    f.id = "runtime-owns-key";
    f.severity = Severity::warning;
    // The config.json path (over 100 characters under containerd) is in facts.namespace_boot; the
    // summary names the owner, which is what an operator changes.
    f.summary = t.owner + " sets " + t.key + " = " + t.value + " in its OCI config (" +
                (t.running ? "running" : "not running") + "): " + t.effect;
    f.evidence = { { "running", t.running ? 1.0 : 0.0 } };
    f.rationale = "the container's configuration declares the value this namespace gets: a change made only "
                  "here disagrees with it and is lost when the namespace is made again; change the "
                  "declared value instead, or apply --force for a change until then";
    plan.findings.push_back(std::move(f));
  }
  // A bundle this run could not read may be this namespace's owner: say so where a change is planned.
  if (!boot.unreadable.empty() && !plan.changes.empty()) {
    Finding f;
    f.id = "runtime-config-unreadable";
    f.severity = Severity::info;
    f.summary = "cannot read " + counted(boot.unreadable.size(), "container runtime config") + " (" +
                boot.unreadable.front() + (boot.unreadable.size() > 1 ? ", ..." : "") +
                "): a value one of them declares for this namespace is not seen";
    f.evidence = { { "configs", static_cast<double>(boot.unreadable.size()) } };
    f.rationale = "apply refuses to fight only the declared values it read; a pod's securityContext.sysctls "
                  "in an unreadable config comes back when the namespace is made again all the same";
    plan.findings.push_back(std::move(f));
  }
}

void add_boot_findings(const BootFacts& boot, Plan& plan)
{
  drift_findings(boot, plan);
  tuner_findings(boot, plan);
  unreadable_finding(boot, plan);
  persist_findings(boot, plan);
  interrupted_finding(boot, plan);
}

} // namespace tw::policy
