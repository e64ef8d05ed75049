#pragma once

#include "facts/counters.hpp"
#include "facts/established.hpp"
#include "facts/nat.hpp"
#include "facts/oci_bundles.hpp"
#include "model/census.hpp"
#include "model/facts.hpp"
#include "model/netns.hpp"
#include "model/symptoms.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// What `plan` (and friends) ask of the facts layer.
struct GatherOptions
{
  std::filesystem::path proc_root = "/proc";                    // sysctls are read below <proc_root>/sys
  double sample_seconds = 0.0;                                  // > 0: read the counters twice and give rates
  std::uint64_t conntrack_cap = k_default_conntrack_cap;        // most conntrack entries looked at
  SleepFn sleep = sleep_for_real;                               // how the sampler waits (tests inject)
  CountEstablishedFn count_established = tw::count_established; // counts through the window (tests inject)
  // Attach the BPF evidence probe for the sample window (false: --no-probe, or a caller that
  // needs no symptom evidence).
  bool probe = false;
  // Also read the boot configuration and the apply state (plan does; apply's own plan needs not):
  bool read_boot = false;
  std::filesystem::path root = "/";   // the tree whose sysctl.d is read
  std::filesystem::path state_dir;    // apply's state dir (empty: the default under root)
  std::vector<std::string> boot_keys; // the keys a plan may propose (the policy's guardrails)
  // plan --since: read the monitor's history of this namespace over that many seconds back, from
  // the state dir (k_history_file).
  std::optional<double> history_since_seconds;
  // The namespace being judged, when the caller already knows it (--netns, --all-netns); else it
  // is identified (host, ip netns name, container, process). The boot configuration is read only
  // for the host's namespace or an explicit --root tree: /etc/sysctl.d never reaches another one.
  std::optional<NetnsInfo> netns;
  // Name the processes holding the connections that matter (one pass over every fd table); the
  // monitor, which exports no owners, turns it off.
  bool attribute_owners = true;
  // The socket census, when the caller already took it (the node's one-pass walk); else
  // gather_facts takes it with sock_diag.
  std::optional<SocketCensus> census;
  // The start of a --sample window the caller opened for several namespaces at once (the node's
  // one window): gather_facts reads the counters once more for the rates and takes this evidence,
  // instead of sampling on its own.
  struct OpenWindow
  {
    Counters before;          // this namespace's counters when the window opened
    double seconds = 0.0;     // how long it has been open by the time gather_facts runs
    SymptomEvidence evidence; // what the probe saw in this namespace (or why it did not)
  };
  std::optional<OpenWindow> window;
  // The container runtimes' bundles, when the caller read them once for several namespaces (the
  // node's run); else read here for a namespace that is not the host's (with read_boot).
  std::shared_ptr<const OciBundles> oci_bundles;
};

// Everything observed about the calling network namespace. Per-item problems are recorded in
// the facts (absent sysctls, unreadable counters, no conntrack); only a bad option throws.
Facts gather_facts(const GatherOptions& options);

} // namespace tw
