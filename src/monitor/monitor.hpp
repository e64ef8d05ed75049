#pragma once

#include "model/facts.hpp"
#include "model/history.hpp"
#include "model/netns.hpp"
#include "model/policy.hpp"
#include "model/profile.hpp"
#include "model/symptoms.hpp"
#include "report/metrics_text.hpp"

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace tw {

// What `tw-advisor monitor` runs with.
struct MonitorOptions
{
  std::chrono::milliseconds interval{ 15000 };
  std::filesystem::path textfile_dir = "/var/lib/prometheus/node-exporter";
  std::string textfile_name = "tw_advisor.prom"; // node_exporter reads *.prom only
  std::optional<std::uint64_t> count;            // stop after this many intervals (--count)
  bool probe = true;                             // keep the BPF probe attached (--no-probe: not)
  std::string netns_label = "host";              // the netns label of every series
  std::optional<NetnsInfo> netns;                // the namespace watched, once identified
  bool all_netns = false;                        // every namespace of the node (--all-netns)
  // Where the history is kept (resolved); with all_netns, the host's, and another namespace's in
  // its netns-INODE folder (where plan --netns ... --since looks).
  std::filesystem::path state_dir;
  std::chrono::seconds history_keep{ 3600 }; // how much history to keep (0: none written)
  // --history or --state-dir given: a history that cannot be written is an error at start. Else
  // (the defaults, e.g. a monitor by hand as a user beside the unit) it is a warning, and none.
  bool history_asked = false;
};

// SIGTERM, SIGINT and SIGHUP blocked from construction on, so that they are taken between
// intervals (sigtimedwait) instead of ending the monitor during its start or mid-write: make it
// first thing, before entering a namespace or loading anything. Restores the old mask at the end.
class MonitorSignals
{
public:
  MonitorSignals();
  ~MonitorSignals();
  MonitorSignals(const MonitorSignals&) = delete;
  MonitorSignals& operator=(const MonitorSignals&) = delete;

  // Waits up to timeout for one of them: its number, or 0 when the time ran out.
  int wait(std::chrono::milliseconds timeout) const;

private:
  sigset_t m_set{};
  sigset_t m_old{};
};

// The profile and policy to judge with, loaded at start and again on SIGHUP.
struct MonitorConfig
{
  Profile profile;
  Policy policy;
};
using LoadMonitorConfig = std::function<MonitorConfig()>;

// The monitor: every interval, observe (the census and counters of this namespace, or of every
// namespace with all_netns, and what the probe counted), decide (the plan's verdict), report (the Prometheus
// textfile, written atomically; a verdict change logged). One bad interval is logged, counted and skipped.
// SIGTERM and SIGINT end it after the interval in progress; SIGHUP reloads the profile and policy (a config
// that does not load keeps the old one, logged). Returns the process exit code.
int run_monitor(const MonitorOptions& options, const LoadMonitorConfig& load, const MonitorSignals& signals);

// What the monitor keeps of the probe for one namespace: its drained intervals added up (the
// exposition's counters), bounded, and the failures no history line has recorded yet.
struct ProbeAccumulator
{
  bool probed = false;       // the probe watched this namespace
  std::uint64_t dropped = 0; // the probe's own totals since it was attached
  std::uint64_t missed = 0;
  std::map<std::string, ProbeTotals> destinations;          // "198.18.0.1:8080" -> totals
  std::map<std::string, std::uint64_t> bind_eaddrinuse;     // local address -> total
  std::map<std::string, std::uint64_t> destination_counted; // -> the interval it last counted in
  std::map<std::string, std::uint64_t> bind_counted;
  std::map<std::string, HistoryFailures> unrecorded; // since the last history line, by destination
};

// Most destinations (and, apart, bind() local addresses) an accumulator keeps per namespace.
// Beyond them the ones idle longest are forgotten (the fewest failures first among equals): a
// destination seen again starts from 0, which Prometheus reads as a counter reset.
inline constexpr std::size_t k_monitor_probe_keys = 1024;

// Adds one drained interval of the probe (interval_number: the monitor's count) to acc. Pure.
void accumulate_probe(ProbeAccumulator& acc,
                      const SymptomEvidence& interval,
                      std::uint64_t interval_number,
                      std::size_t cap = k_monitor_probe_keys);

// One interval's metrics for the namespace (no I/O): the verdict of the plan with config over the
// facts gathered now, and the probe's totals since the monitor started. The verdict is judged
// without the probe's totals: a failure an hour ago must not hold it at "helps" (that is the
// history's job). Pure.
NamespaceMetrics namespace_metrics(const std::string& label,
                                   Facts facts,
                                   const ProbeAccumulator& probe,
                                   const MonitorConfig& config);

// One interval's line of history: the groups with the highest TIME_WAIT share (at most
// k_history_groups) and the probe's failures not recorded yet (probe.unrecorded; the caller
// clears it once the line is written), the most first, at most k_history_groups. Pure.
HistoryRecord history_record(const Facts& facts, const ProbeAccumulator& probe, double at_unix);

} // namespace tw
