#pragma once

#include "model/counters.hpp"
#include "model/symptoms.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// A health counter whose rate must not rise by more than max_rise_per_second over the pre-apply
// baseline while the watch runs ("Tcp.AttemptFails", "TcpExt.PAWSActive", ...).
struct WatchThreshold
{
  std::string counter;
  double max_rise_per_second = 0.0;
  std::string rule_id; // the policy rule it came from, for the reason shown (may be empty)
};

// The counter that shows reuse actually happening: reported, never a reason to roll back.
inline constexpr const char* k_reuse_counter = "TcpExt.TWRecycled";

// The thresholds used when the policy names none: any sustained rise of failing connects or PAWS
// rejections over one per second is a reason to roll back a canary.
std::vector<WatchThreshold> default_watch_thresholds();

// One evaluation of the watch: the rise of each watched rate over the baseline, and the verdict.
struct WatchSample
{
  double elapsed_seconds = 0.0;
  std::map<std::string, double> rise; // counter -> (rate since the watch began) - (baseline rate)
  std::uint64_t reused = 0;           // TWRecycled since the watch began: reuse happening
  std::optional<std::string> trip;    // why to roll back, when a threshold is crossed
};

// Compares `now` with `start` (read when the watch began, elapsed seconds earlier) against the
// baseline rates measured before apply. A counter missing from a reading is not judged; a counter
// that went backwards is treated as no rise. Pure: the unit tests feed it canned readings.
WatchSample evaluate_watch(const Counters& start,
                           const Counters& now,
                           double elapsed_seconds,
                           const std::map<std::string, double>& baseline_per_second,
                           const std::vector<WatchThreshold>& thresholds);

// What the evidence probe has counted since it was attached, reduced to what the watch judges.
struct SymptomCounts
{
  std::uint64_t eaddrnotavail = 0;   // connect() failed for lack of a port (all destinations)
  std::uint64_t eaddrinuse = 0;      // bind() to port 0 failed for lack of a port
  std::uint64_t recycled = 0;        // handshakes that took a TIME_WAIT tuple over
  std::uint64_t recycled_failed = 0; // of which failed before ESTABLISHED (PAWS behind NAT)
};

// The totals of one probe reading.
SymptomCounts symptom_counts(const SymptomEvidence& evidence);

// What the probe measured before the change (over the baseline window) and during the watch.
struct SymptomWatch
{
  std::optional<double> eaddrnotavail_before_per_second; // nullopt: no baseline window
  double eaddrnotavail_during_per_second = 0.0;
  std::optional<double> eaddrinuse_before_per_second; // bind() to port 0, likewise
  double eaddrinuse_during_per_second = 0.0;
  std::uint64_t recycled = 0;        // during the watch
  std::uint64_t recycled_failed = 0; // during the watch
};

// Rolls back while the watch runs: a recycled connect that failed is the danger the change brings
// (the peer or a NAT drops reused tuples); nullopt while none has.
std::optional<std::string> symptom_trip(const SymptomWatch& watch);

// At the end of the watch: connect() failing with EADDRNOTAVAIL before the change must have
// fallen (or, where no connect() failed, bind() to port 0 failing with EADDRINUSE), or the change
// did not do what it was for; nullopt when it passes.
std::optional<std::string> symptom_final(const SymptomWatch& watch);

// "connect() EADDRNOTAVAIL 41.5/s before, 0/s during the watch; 120 recycled connects, 0 failed".
std::string symptom_summary(const SymptomWatch& watch);

} // namespace tw
