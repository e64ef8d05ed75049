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

SymptomCounts symptom_counts(const SymptomEvidence& evidence)
{
  SymptomCounts out;
  for (const auto& d : evidence.destinations) {
    out.eaddrnotavail += d.connect_eaddrnotavail;
    out.recycled += d.recycled;
    out.recycled_failed += d.recycled_failed;
  }
  out.eaddrinuse = evidence.total_bind_eaddrinuse();
  return out;
}

std::optional<std::string> symptom_trip(const SymptomWatch& watch)
{
  if (watch.recycled_failed == 0) {
    return std::nullopt;
  }
  return fmt::format("{} of {} connects that reused a TIME_WAIT tuple failed before ESTABLISHED (BPF probe): "
                     "the peer, or a NAT in between, drops reused tuples",
                     watch.recycled_failed,
                     watch.recycled);
}

std::optional<std::string> symptom_final(const SymptomWatch& watch)
{
  // connect() first: the change is for it. bind() is judged only on a host where no connect()
  // failed before, so a bind() client beside a relieved connect() client does not undo the change.
  const auto before = watch.eaddrnotavail_before_per_second;
  const bool connect_failing = before && *before > 0.0;
  if (connect_failing && watch.eaddrnotavail_during_per_second >= *before) {
    return fmt::format(
      "connect() kept failing with EADDRNOTAVAIL: {:.1f}/s during the watch, {:.1f}/s before "
      "the change (BPF probe); the change did not relieve the port pressure",
      watch.eaddrnotavail_during_per_second,
      *before);
  }
  const auto bind_before = watch.eaddrinuse_before_per_second;
  if (!connect_failing && bind_before && *bind_before > 0.0 &&
      watch.eaddrinuse_during_per_second >= *bind_before) {
    return fmt::format("bind() to port 0 kept failing with EADDRINUSE: {:.1f}/s during the watch, {:.1f}/s "
                       "before the change (BPF probe); tcp_tw_reuse does not help a client that bind()s "
                       "before connect() (IP_BIND_ADDRESS_NO_PORT does)",
                       watch.eaddrinuse_during_per_second,
                       *bind_before);
  }
  return std::nullopt;
}

std::string symptom_summary(const SymptomWatch& watch)
{
  const std::string before = watch.eaddrnotavail_before_per_second
                               ? fmt::format("{:.1f}/s before, ", *watch.eaddrnotavail_before_per_second)
                               : std::string();
  std::string bind;
  if (watch.eaddrinuse_during_per_second > 0.0 ||
      (watch.eaddrinuse_before_per_second && *watch.eaddrinuse_before_per_second > 0.0)) {
    bind = fmt::format("; bind() EADDRINUSE {}{:.1f}/s during",
                       watch.eaddrinuse_before_per_second
                         ? fmt::format("{:.1f}/s before, ", *watch.eaddrinuse_before_per_second)
                         : std::string(),
                       watch.eaddrinuse_during_per_second);
  }
  // The probe sees a recycle only of TIME_WAIT entered since it attached: TWRecycled counts more.
  const std::string recycled = watch.recycled == 0 ? std::string("no recycled connect seen")
                                                   : fmt::format("at least {} recycled {}, {} failed",
                                                                 watch.recycled,
                                                                 watch.recycled == 1 ? "connect" : "connects",
                                                                 watch.recycled_failed);
  return fmt::format("connect() EADDRNOTAVAIL {}{:.1f}/s during the watch{}; {} (BPF probe)",
                     before,
                     watch.eaddrnotavail_during_per_second,
                     bind,
                     recycled);
}

} // namespace tw
