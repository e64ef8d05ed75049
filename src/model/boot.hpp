#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tw {

// key = value settings in file order (a sysctl.d file's assignments).
using Settings = std::vector<std::pair<std::string, std::string>>;

// existing with every key of updates set to its new value (kept in place) and new keys appended:
// what the generated sysctl.d file holds after an apply of updates. One rule for plan's
// prediction and apply's write, so an earlier apply's keys are never dropped by either.
Settings merge_settings(const Settings& existing, const Settings& updates);

// A key whose running value differs from what the boot configuration sets.
struct BootDrift
{
  std::string key;
  std::string message;               // "K is R now but F:L sets B at boot under both loaders"
  std::optional<std::uint64_t> line; // the line of the drifting loader's assignment
};

// An apply that stopped half-way (killed, crashed) and awaits `tw-advisor rollback`.
struct InterruptedApply
{
  std::string id;      // the journal id
  std::string state;   // the journal state it stopped in
  std::string journal; // the journal's path
};

// Another tuner that sets one of the keys a plan may propose: it may undo the change apply makes.
struct TunerClaim
{
  std::string owner;              // "TuneD profile throughput-performance"
  std::string key;                // canonical dotted key
  std::string value;              // what it sets
  std::string source;             // where: "/usr/lib/tuned/throughput-performance/tuned.conf:12"
  bool running = false;           // its daemon runs now (false also when that cannot be told)
  bool overrides_sysctld = false; // it applies after sysctl.d, so its value wins over apply's file
  std::string effect;             // what happens at its next run, in one sentence

  // Whether it sets the key to something else than `other` (a change it would fight).
  bool conflicts_with(std::string_view other) const;
  // Whether it is a TuneD in a container (its source under /proc/PID/root): under the Node
  // Tuning Operator its profile is rendered from a Tuned resource, which is where to change it.
  bool in_container() const;
};

// What the boot configuration (sysctl.d under --root) and the apply state directory say, as read
// when the plan was made. Recorded in the plan's facts, so a replay judges the same.
struct BootFacts
{
  std::string loader; // the loader this host boots with: "systemd-sysctl" or "sysctl --system"
  std::vector<BootDrift> drift;
  std::vector<std::string> unreadable; // "PATH (reason)": what the loaders read but this run could not
  std::string generated_file;          // /etc/sysctl.d/90-tw-advisor.conf, as on the host
  Settings generated;                  // what that file sets now (an earlier apply); empty when absent
  // For each key a plan may propose (the policy's guardrail keys, and those in the generated file):
  // why a generated file would not win at boot for it (another file:line and loader).
  std::map<std::string, std::string> overridden;
  std::optional<InterruptedApply> interrupted;
  std::vector<TunerClaim> tuners; // other tuners that set a key a plan may propose
};

// A container a runtime keeps an OCI bundle for, in a network namespace that is not the host's.
struct RuntimeContainer
{
  std::string owner;  // "pod default/web (containerd sandbox 0123456789ab)", "Docker container 0123456789ab"
  std::string config; // its OCI config.json
  std::string pod;    // "default/web" for a Kubernetes pod's container, else empty
  bool running = false; // its init process runs now
};

// What a network namespace that is not the host's starts from when it is made again: sysctl.d
// never reaches it (systemd-sysctl writes the host's namespace only), so the kernel's defaults
// and what its container runtime sets from each container's OCI config (linux.sysctl: a pod's
// securityContext.sysctls, `docker run --sysctl`). Recorded in the plan's facts, so a replay
// judges the same.
struct NamespaceBootFacts
{
  std::vector<RuntimeContainer> containers; // the runtime's containers found in it (none: no runtime's)
  std::vector<std::string> unreadable;      // "PATH (reason)": bundles this run could not read
  std::vector<TunerClaim> tuners;           // the keys a plan may propose that their configs set
};

} // namespace tw
