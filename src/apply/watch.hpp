#pragma once

#include "model/counters.hpp"

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

} // namespace tw
