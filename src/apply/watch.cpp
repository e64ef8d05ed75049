#include "apply/watch.hpp"

#include <fmt/format.h>

namespace tw {

std::vector<WatchThreshold> default_watch_thresholds()
{
  return {
    { "Tcp.AttemptFails", 1.0, "default" },     { "TcpExt.PAWSActive", 1.0, "default" },
    { "TcpExt.PAWSEstab", 1.0, "default" },     { "TcpExt.TSEcrRejected", 1.0, "default" },
    { "TcpExt.TCPSynRetrans", 1.0, "default" },
  };
}

WatchSample evaluate_watch(const Counters& start,
                           const Counters& now,
                           double elapsed_seconds,
                           const std::map<std::string, double>& baseline_per_second,
                           const std::vector<WatchThreshold>& thresholds)
{
  WatchSample out;
  out.elapsed_seconds = elapsed_seconds;
  const double seconds = elapsed_seconds > 0.0 ? elapsed_seconds : 1.0;
  auto delta = [&](const std::string& name) -> std::optional<std::uint64_t> {
    const auto a = start.get(name);
    const auto b = now.get(name);
    if (!a || !b) {
      return std::nullopt;
    }
    return *b >= *a ? *b - *a : 0;
  };
  if (const auto reused = delta(k_reuse_counter)) {
    out.reused = *reused;
  }
  for (const auto& t : thresholds) {
    const auto d = delta(t.counter);
    if (!d) {
      continue;
    }
    const auto base = baseline_per_second.find(t.counter);
    const double rise =
      static_cast<double>(*d) / seconds - (base == baseline_per_second.end() ? 0.0 : base->second);
    out.rise[t.counter] = rise;
    if (!out.trip && rise > t.max_rise_per_second) {
      out.trip = fmt::format(
        "{} rose by {:.2f}/s over the pre-apply baseline (limit {:.2f}/s{}{}): {} more in {:.0f} s",
        t.counter,
        rise,
        t.max_rise_per_second,
        t.rule_id.empty() ? "" : ", rule ",
        t.rule_id,
        *d,
        elapsed_seconds);
    }
  }
  return out;
}

} // namespace tw
