// plan --since: the monitor's record of a burst, judged beside the live census. The history holds
// each destination group's worst interval; a burst that ended a minute ago has left TIME_WAIT by
// now (60 s), but the ports it emptied and the failures it caused are what the verdict is about.
#include "policy/history.hpp"

#include "util/duration.hpp"
#include "util/percent.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <string>
#include <tuple>

namespace tw::policy {

namespace {

double share(std::uint64_t part, std::uint64_t whole)
{
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

bool same_group(const DestGroup& a, const DestGroup& b)
{
  return std::tie(a.family, a.local, a.remote, a.remote_port) ==
         std::tie(b.family, b.local, b.remote, b.remote_port);
}

// "2m10s" between a moment of the history and when it was read.
std::string before_reading(const HistoryWindow& h, double at_unix)
{
  const auto seconds = std::chrono::seconds(std::llround(std::max(0.0, h.read_at_unix - at_unix)));
  return format_duration(seconds);
}

std::string window_text(const HistoryWindow& h)
{
  return "the last " + format_duration(std::chrono::seconds(std::llround(h.since_seconds)));
}

} // namespace

SocketCensus census_with_peaks(const SocketCensus& live, const HistoryWindow& history)
{
  SocketCensus judged = live;
  // As the analysis judges a group: its own usable ports, else the namespace's.
  const auto tw_share = [&live](const DestGroup& g) {
    return share(g.time_wait, g.usable > 0 ? g.usable : live.usable_ports);
  };
  for (const auto& peak : history.peaks) {
    DestGroup remembered = peak.group;
    remembered.peak_at_unix = peak.at_unix;
    bool found = false;
    for (auto& g : judged.groups) {
      if (!same_group(g, remembered)) {
        continue;
      }
      found = true;
      if (tw_share(remembered) > tw_share(g)) {
        // The peak's counts; what only the live sockets can tell (timestamps) stays live.
        remembered.outbound_established = g.outbound_established;
        remembered.with_timestamps = g.with_timestamps;
        remembered.v4_mapped = g.v4_mapped;
        g = remembered;
      }
      break;
    }
    if (!found) {
      judged.groups.push_back(remembered);
    }
  }
  return judged;
}

std::string time_of_day(double unix_seconds)
{
  const auto t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", &tm);
  return std::string(text) + " UTC";
}

void history_findings(const Analysis& a, std::vector<Finding>& out)
{
  if (!a.facts.history) {
    return;
  }
  const HistoryWindow& h = *a.facts.history;
  if (!h.available || h.records == 0) {
    Finding f{ "history-unavailable", Severity::warning, {}, {}, {} };
    f.summary =
      "plan --since " + format_duration(std::chrono::seconds(std::llround(h.since_seconds))) + ": " +
      (h.available ? "the monitor's history at " + h.path + " holds no interval of this namespace in " +
                       window_text(h) + " (is tw-advisor monitor running here?)"
                   : h.error) +
      "; judged on the live census only";
    f.evidence = { { "records", as_double(h.records) }, { "skipped_lines", as_double(h.skipped) } };
    f.rationale =
      "TIME_WAIT lasts 60 s: a burst that ended before this plan left no trace in the census, only in "
      "the monitor's history";
    out.push_back(std::move(f));
    return;
  }
  for (const auto& v : a.groups) {
    if (!v.group->peak_at_unix || !(v.pressured || v.bind_driven)) {
      continue;
    }
    const DestGroup& g = *v.group;
    Finding f{ "history-peak", Severity::info, {}, {}, {} };
    f.summary = "judged at the peak the monitor recorded in " + window_text(h) + ": " +
                std::to_string(g.time_wait) + " of " + std::to_string(v.usable) + " usable ports (" +
                percent(v.time_wait_share) + ") in TIME_WAIT towards " + group_name(g) + " at " +
                time_of_day(*g.peak_at_unix) + ", " + before_reading(h, *g.peak_at_unix) +
                " before this plan";
    f.evidence = { { "peak_time_wait", as_double(g.time_wait) },
                   { "peak_in_use", as_double(g.in_use) },
                   { "usable_ports", as_double(v.usable) },
                   { "peak_at_unix", std::floor(*g.peak_at_unix) },
                   { "records", as_double(h.records) } };
    f.rationale =
      "TIME_WAIT lasts 60 s, so the census alone forgets a burst a minute after it ends; the verdict is "
      "about the bursts, not the quiet between them";
    out.push_back(std::move(f));
  }
  std::size_t told = 0;
  for (const auto& failures : h.failures) {
    if (failures.eaddrnotavail == 0) {
      continue;
    }
    if (told++ == 3) { // the 3 destinations with the most
      break;
    }
    Finding f{ "history-failures", Severity::warning, {}, {}, {} };
    f.summary = "the monitor's probe counted " + std::to_string(failures.eaddrnotavail) +
                " connect() failing with EADDRNOTAVAIL towards " + failures.destination + " in " +
                window_text(h);
    f.evidence = { { "eaddrnotavail", as_double(failures.eaddrnotavail) },
                   { "recycled_failed", as_double(failures.recycled_failed) } };
    f.rationale = "EADDRNOTAVAIL is the symptom itself: no local port was left towards that destination";
    out.push_back(std::move(f));
  }
}

} // namespace tw::policy
