#include "report/evidence_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tw {

namespace {

unsigned long long ull(std::uint64_t v)
{
  return static_cast<unsigned long long>(v);
}

std::string microseconds(const std::optional<double>& us)
{
  if (!us) {
    return "-";
  }
  return *us >= 10000.0 ? fmt::format("{:.0f}ms", *us / 1000.0) : fmt::format("{:.0f}us", *us);
}

// "api-worker[4242]" for the first processes, "+N more" after.
std::string process_list(const std::vector<SymptomProcess>& processes, std::size_t shown)
{
  std::string out;
  for (std::size_t i = 0; i < processes.size() && i < shown; ++i) {
    out += (i == 0 ? "" : ", ") + processes[i].comm + "[" + std::to_string(processes[i].pid) + "]";
  }
  if (processes.size() > shown) {
    out += fmt::format(" +{} more", processes.size() - shown);
  }
  return out;
}

} // namespace

std::string evidence_line(const SymptomEvidence& e)
{
  if (e.source == EvidenceSource::counters) {
    return "evidence: counters only (" + e.reason + ")";
  }
  std::string out = fmt::format("evidence: BPF probe over {:.1f} s, {} connect() EADDRNOTAVAIL, {} bind() "
                                "EADDRINUSE, {} recycled connects failed",
                                e.window_seconds,
                                ull(e.total_eaddrnotavail()),
                                ull(e.total_bind_eaddrinuse()),
                                ull(e.total_recycled_failed()));
  if (e.dropped > 0) {
    out += fmt::format(" ({} events not counted: a probe map was full)", ull(e.dropped));
  }
  return out;
}

std::string evidence_to_text(const SymptomEvidence& e, std::size_t top)
{
  if (e.source != EvidenceSource::probe) {
    return {};
  }
  std::string out = fmt::format("\nconnect() by destination over {:g} s (BPF probe, most failures first)\n",
                                e.window_seconds);
  if (e.destinations.empty()) {
    out += "  no connect() in this network namespace during the window\n";
  } else {
    out += fmt::format("  {:<22} {:>7} {:>8} {:>6} {:>8} {:>6} {:>6}\n",
                       "DESTINATION",
                       "OK",
                       "NOTAVAIL",
                       "OTHER",
                       "RECYCLED",
                       "P50",
                       "P99");
    for (std::size_t i = 0; i < e.destinations.size() && i < top; ++i) {
      const SymptomDestination& d = e.destinations[i];
      std::uint64_t other = 0;
      for (const auto& [name, n] : d.connect_errors) {
        other += n;
      }
      const std::string recycled = d.recycled_failed > 0
                                     ? fmt::format("{}/{}!", ull(d.recycled), ull(d.recycled_failed))
                                     : std::to_string(d.recycled);
      out += fmt::format("  {:<22} {:>7} {:>8} {:>6} {:>8} {:>6} {:>6}\n",
                         d.destination,
                         ull(d.connect_ok),
                         ull(d.connect_eaddrnotavail),
                         ull(other),
                         recycled,
                         microseconds(d.connect_us_p50),
                         microseconds(d.connect_us_p99));
      if (!d.processes.empty()) {
        out += "    by " + process_list(d.processes, 3) + "\n";
      }
    }
    if (e.destinations.size() > top) {
      out +=
        fmt::format("  ... {} more destinations (--top, or --format json)\n", e.destinations.size() - top);
    }
    out += "  NOTAVAIL: connect() failed with EADDRNOTAVAIL (no free source port); OTHER: other\n"
           "  connect() errors (named in --format json); RECYCLED: handshakes that reused a\n"
           "  TIME_WAIT tuple, N/F! when F of them failed (PAWS: NAT or the peer drops them);\n"
           "  P50/P99: time from the start of connect()'s port search to its return\n";
  }
  for (const auto& b : e.bind_eaddrinuse) {
    out += fmt::format("bind() to port 0 of {} failed {} times with EADDRINUSE, by {}\n",
                       b.local,
                       ull(b.count),
                       process_list(b.processes, 3));
  }
  if (e.time_wait_capped) {
    out += fmt::format("note: {} tuples entered TIME_WAIT, more than the probe tracks: recycled is a "
                       "lower bound\n",
                       ull(e.time_wait_seen));
  }
  return out;
}

} // namespace tw
