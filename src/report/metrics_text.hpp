#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tw {

// What the probe counted per destination since the monitor started (its windows added up): the
// exposition's counters must only grow while the monitor runs.
struct ProbeTotals
{
  std::uint64_t connect_eaddrnotavail = 0;
  std::uint64_t recycled = 0;
  std::uint64_t recycled_failed = 0;
};

// One network namespace as the monitor saw it at its last good interval.
struct NamespaceMetrics
{
  std::string netns; // the label: "host", an ip netns name, "pod ...", "container ..."
  Facts facts;
  Verdict verdict = Verdict::insufficient_evidence;
  bool probed = false;                                  // the probe watched this namespace
  std::map<std::string, ProbeTotals> destinations;      // "198.18.0.1:8080" -> totals
  std::map<std::string, std::uint64_t> bind_eaddrinuse; // local address -> bind() EADDRINUSE total
  std::uint64_t probe_dropped = 0;                      // events the probe could not count (maps full)
  std::uint64_t probe_missed = 0;                       // events the kernel did not hand to the probe
};

// The monitor's own health.
struct MonitorHealth
{
  double last_success_unix_seconds = 0.0; // end of the last interval that succeeded (0: none yet)
  double last_duration_seconds = 0.0;     // how long the last interval took
  double interval_seconds = 0.0;          // --interval
  std::uint64_t intervals_total = 0;      // intervals run, good or bad
  std::uint64_t errors_total = 0;         // intervals that failed (logged and skipped)
};

// Destinations per namespace in each per-destination family: the busiest by pressure and by
// TIME_WAIT share for the census's, the most failing for the probe's (and local addresses for
// bind()), so that the series count stays bounded whatever the host does (doc/monitor.md).
inline constexpr std::size_t k_metrics_destinations = 10;

// The Prometheus text exposition (format 0.0.4) for node_exporter's textfile collector: every
// family once with HELP and TYPE, tw_advisor_ prefix, base units, _total for counters, label
// values escaped. Pure.
std::string metrics_text(const std::vector<NamespaceMetrics>& namespaces,
                         const MonitorHealth& health,
                         std::size_t destinations = k_metrics_destinations);

// A label value as the exposition writes it between quotes: \ " and newline escaped. Pure.
std::string escape_label_value(const std::string& value);

} // namespace tw
