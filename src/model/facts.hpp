#pragma once

#include "model/boot.hpp"
#include "model/census.hpp"
#include "model/counters.hpp"
#include "model/history.hpp"
#include "model/nat.hpp"
#include "model/processes.hpp"
#include "model/symptoms.hpp"
#include "model/sysctl.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// Which kernel and which network namespace the facts describe.
struct HostInfo
{
  std::string kernel_release; // uname -r
  std::string hostname;
  std::uint64_t netns_inode = 0; // inode of /proc/self/ns/net (0 when unreadable)
  // The namespace as an operator knows it (model/netns.hpp): kind "host" (PID 1's), "named",
  // "container" or "process", and its name; both empty when unknown (older recordings).
  std::string netns_kind;
  std::string netns_name;
};

// Everything observed about one host (one network namespace): the engine's only input from the OS.
struct Facts
{
  HostInfo host;
  Sysctls sysctls;
  SocketCensus sockets;
  Counters counters;
  std::optional<CounterRates> rates; // with --sample
  EstablishedTrend established;      // outbound ESTABLISHED per destination through --sample
  NatEvidence nat;
  std::optional<BootFacts> boot; // sysctl.d and apply state (nullopt: not read, e.g. an old recording)
  // For a namespace that is not the host's (sysctl.d never reaches it): what its container runtime
  // sets in it (nullopt: the host's, not known, or not read).
  std::optional<NamespaceBootFacts> namespace_boot;
  SymptomEvidence evidence; // the symptom measured by the probe, or why it was not
  // The monitor's history over plan --since (nullopt: not asked for): the peaks of a burst that
  // may have ended, judged beside the live census.
  std::optional<HistoryWindow> history;
};

} // namespace tw
