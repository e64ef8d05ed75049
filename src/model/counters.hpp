#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// Kernel counters of one network namespace, keyed "TcpExt.TW", "Tcp.ActiveOpens", "sockstat.tw".
struct Counters
{
  bool available = false; // false when none of the files could be read
  std::string error;      // why not (path and errno text)
  std::map<std::string, std::uint64_t> values;

  // The counter when the kernel reported it.
  std::optional<std::uint64_t> get(const std::string& name) const;
};

// Two readings of the counters, some seconds apart.
struct CounterRates
{
  double interval_seconds = 0.0;
  std::map<std::string, std::uint64_t> delta; // after - before (counters that did not go back)
  std::map<std::string, double> per_second;   // delta / interval

  // The rate when both readings had the counter.
  std::optional<double> rate(const std::string& name) const;
};

// Every Tcp.* and TcpExt.* counter name a policy's watch rule may name, as Counters keys them.
const std::vector<std::string>& known_counter_names();

} // namespace tw
