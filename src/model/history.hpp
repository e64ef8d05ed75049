#pragma once

#include "model/census.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// One interval as `tw-advisor monitor` records it in its history: the groups with the most ports
// in use (at most k_history_groups) and what the probe counted in that interval alone.
struct HistoryFailures
{
  std::string destination;           // "addr:port" as the probe names it
  std::uint64_t eaddrnotavail = 0;   // connect() failing with EADDRNOTAVAIL
  std::uint64_t recycled_failed = 0; // recycled connects that failed (PAWS, NAT)

  friend bool operator==(const HistoryFailures&, const HistoryFailures&) = default;
};

struct HistoryRecord
{
  double at_unix = 0.0;                  // when the interval's census was taken
  std::uint64_t netns_inode = 0;         // the namespace recorded
  std::vector<DestGroup> groups;         // the outbound groups with the most ports in use
  std::vector<HistoryFailures> failures; // per destination, in this interval only

  friend bool operator==(const HistoryRecord&, const HistoryRecord&) = default;
};

// Most groups one record keeps (the fullest first), so a record and the file stay bounded.
inline constexpr std::size_t k_history_groups = 10;

// The worst moment of one destination group in the window read.
struct HistoryPeak
{
  DestGroup group;      // its counts at the peak (the highest TIME_WAIT share of its range)
  double at_unix = 0.0; // when

  friend bool operator==(const HistoryPeak&, const HistoryPeak&) = default;
};

// What `plan --since` read from the monitor's history: the peaks of the window, to be judged
// beside the live census so that a burst that has ended still counts.
struct HistoryWindow
{
  std::string path;                    // the history file read
  double since_seconds = 0;            // the window asked for (--since)
  double read_at_unix = 0.0;           // when it was read: the window is [read_at - since, read_at]
  bool available = false;              // false: no history (no monitor ran here), or unreadable
  std::string error;                   // why not, when unavailable
  std::uint64_t records = 0;           // intervals of this namespace inside the window
  std::uint64_t skipped = 0;           // lines that were torn or not a record (ignored)
  std::optional<double> first_at_unix; // the first and last interval inside the window
  std::optional<double> last_at_unix;
  std::vector<HistoryPeak> peaks;        // one per group, fullest (TIME_WAIT share) first
  std::vector<HistoryFailures> failures; // summed over the window, most EADDRNOTAVAIL first

  friend bool operator==(const HistoryWindow&, const HistoryWindow&) = default;
};

} // namespace tw
