// `tw-advisor monitor`: the same stages as plan (observe -> decide -> report) in a loop with a
// clock. No rule lives here: the verdict is make_plan's, the exposition report/metrics_text's.
#include "monitor/monitor.hpp"

#include "audit/audit.hpp"
#include "facts/gather.hpp"
#include "facts/probe.hpp"
#include "policy/engine.hpp"
#include "state/history.hpp"
#include "util/clock.hpp"
#include "util/durable_fs.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace tw {

namespace {

// The probe's counts since it was attached, per destination and local address.
void add_probe_totals(NamespaceMetrics& m, const SymptomEvidence& e)
{
  m.probed = e.source == EvidenceSource::probe;
  m.probe_dropped = e.dropped;
  m.probe_missed = e.missed;
  for (const auto& d : e.destinations) {
    m.destinations[d.destination] = { d.connect_eaddrnotavail, d.recycled, d.recycled_failed };
  }
  for (const auto& b : e.bind_eaddrinuse) {
    m.bind_eaddrinuse[b.local] = b.count;
  }
}

} // namespace

HistoryRecord history_record(const Facts& facts,
                             const SymptomEvidence& probed,
                             std::map<std::string, HistoryFailures>& last_totals,
                             double at_unix)
{
  HistoryRecord r;
  r.at_unix = at_unix;
  r.netns_inode = facts.host.netns_inode;
  const auto share = [](const DestGroup& g) {
    return g.usable > 0 ? static_cast<double>(g.time_wait) / static_cast<double>(g.usable) : 0.0;
  };
  for (const auto& g : facts.sockets.groups) {
    if (g.in_use > 0) {
      r.groups.push_back(g);
    }
  }
  std::stable_sort(r.groups.begin(), r.groups.end(), [&share](const DestGroup& a, const DestGroup& b) {
    return std::pair(share(a), a.in_use) > std::pair(share(b), b.in_use);
  });
  if (r.groups.size() > k_history_groups) {
    r.groups.resize(k_history_groups);
  }
  for (auto& g : r.groups) { // the live-only details are not history
    g.outbound_established = 0;
    g.with_timestamps = 0;
    g.v4_mapped = 0;
  }
  for (const auto& d : probed.destinations) { // most EADDRNOTAVAIL first (collect()'s order)
    HistoryFailures& last = last_totals[d.destination];
    // A probe that was re-attached starts again from 0: then its totals are all new.
    const auto delta = [](std::uint64_t now, std::uint64_t before) {
      return now >= before ? now - before : now;
    };
    const HistoryFailures f{ d.destination,
                             delta(d.connect_eaddrnotavail, last.eaddrnotavail),
                             delta(d.recycled_failed, last.recycled_failed) };
    last = { d.destination, d.connect_eaddrnotavail, d.recycled_failed };
    if (f.eaddrnotavail > 0 || f.recycled_failed > 0) {
      r.failures.push_back(f);
    }
  }
  // Bounded like the groups: the destinations that failed most in this interval.
  std::stable_sort(
    r.failures.begin(), r.failures.end(), [](const HistoryFailures& a, const HistoryFailures& b) {
      return std::pair(a.eaddrnotavail, a.recycled_failed) > std::pair(b.eaddrnotavail, b.recycled_failed);
    });
  if (r.failures.size() > k_history_groups) {
    r.failures.resize(k_history_groups);
  }
  return r;
}

MonitorSignals::MonitorSignals()
{
  sigemptyset(&m_set);
  sigaddset(&m_set, SIGTERM);
  sigaddset(&m_set, SIGINT);
  sigaddset(&m_set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
}

MonitorSignals::~MonitorSignals()
{
  pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
}

int MonitorSignals::wait(std::chrono::milliseconds timeout) const
{
  const auto ms = std::max<std::chrono::milliseconds::rep>(0, timeout.count());
  timespec ts{ static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000) };
  for (;;) {
    const int sig = sigtimedwait(&m_set, nullptr, &ts);
    if (sig >= 0) {
      return sig;
    }
    if (errno == EAGAIN) {
      return 0;
    }
    if (errno != EINTR) {
      throw Error("sigtimedwait", errno_text(errno));
    }
  }
}

NamespaceMetrics namespace_metrics(const std::string& label,
                                   Facts facts,
                                   const SymptomEvidence& probed,
                                   const MonitorConfig& config)
{
  NamespaceMetrics m;
  m.netns = label;
  m.verdict = make_plan(facts, config.profile, config.policy).verdict;
  add_probe_totals(m, probed);
  m.facts = std::move(facts);
  return m;
}

int run_monitor(const MonitorOptions& options, const LoadMonitorConfig& load, const MonitorSignals& signals)
{
  MonitorConfig config = load();
  // Checked once at start: a textfile directory that cannot be opened is a mistake to say now.
  const Dir dir = Dir::open(options.textfile_dir);
  std::optional<EvidenceProbe> probe;
  if (options.probe) {
    probe.emplace(ProbeOptions{});
    spdlog::info("monitor: probe: {}", probe->reason());
  }
  const auto started = std::chrono::steady_clock::now();
  MonitorHealth health;
  health.interval_seconds = std::chrono::duration<double>(options.interval).count();
  std::optional<Verdict> last_verdict;
  // Checked once at start too: a state dir that cannot be opened is said now, not every interval.
  std::optional<HistoryWriter> history;
  if (options.history_keep.count() > 0) {
    try {
      history.emplace(options.state_dir, options.history_keep);
    } catch (const Error& e) {
      if (options.history_asked) {
        throw;
      }
      spdlog::warn("monitor: no history ({}); plan --since will not see this run (--state-dir DIR keeps one "
                   "elsewhere, --history 0 says none is wanted)",
                   e.what());
    }
  }
  if (history) {
    spdlog::info("monitor: history of the last {} in {}",
                 format_duration(options.history_keep),
                 history->path().string());
  }
  std::map<std::string, HistoryFailures> probe_totals; // the probe's totals at the last record
  spdlog::info("monitor: every {} s into {}",
               health.interval_seconds,
               (options.textfile_dir / options.textfile_name).string());
  for (;;) {
    const auto begin = std::chrono::steady_clock::now();
    ++health.intervals_total;
    try {
      GatherOptions gather;
      gather.probe = false;               // the monitor's own probe stays attached across intervals
      gather.attribute_owners = false;    // no owners in the exposition: no fd-table pass each interval
      gather.netns = options.netns;       // identified once, at start
      Facts facts = gather_facts(gather); // counters evidence: the census and the kernel counters
      // Without the census or the counters the interval says nothing true: an error interval.
      if (!facts.sockets.available) {
        throw Error("the socket census", facts.sockets.error);
      }
      if (!facts.counters.available) {
        throw Error("the kernel counters", facts.counters.error);
      }
      const double watched = std::chrono::duration<double>(begin - started).count();
      const SymptomEvidence probed = probe ? probe->collect(watched) : counters_evidence("--no-probe");
      const double now = unix_now();
      std::optional<HistoryRecord> record;
      if (history) {
        record = history_record(facts, probed, probe_totals, now);
      }
      NamespaceMetrics m = namespace_metrics(options.netns_label, std::move(facts), probed, config);
      if (last_verdict != m.verdict) {
        spdlog::info("monitor: {}: verdict {}{}",
                     options.netns_label,
                     to_string(m.verdict),
                     last_verdict ? std::string(" (was ") + to_string(*last_verdict) + ")" : "");
        if (last_verdict) { // a change, not the first judgement
          audit({ AuditEvent{ AuditKind::verdict_changed,
                              options.netns_label + ": verdict " + to_string(m.verdict) + " (was " +
                                to_string(*last_verdict) + ")",
                              { { "netns", options.netns_label },
                                { "old", to_string(*last_verdict) },
                                { "new", to_string(m.verdict) } } } });
        }
        last_verdict = m.verdict;
      }
      health.last_duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      if (record) {
        try {
          history->append(*record);
        } catch (const Error& e) { // said and counted; the metrics are still worth writing
          ++health.errors_total;
          spdlog::error("monitor: history: {}", e.what());
        }
      }
      health.last_success_unix_seconds = unix_now();
      write_file_atomically(dir,
                            options.textfile_name,
                            "." + options.textfile_name + ".tmp." + std::to_string(::getpid()),
                            metrics_text({ m }, health),
                            0644);
    } catch (const Error& e) {
      ++health.errors_total; // logged and skipped: the next interval tries again
      spdlog::error("monitor: interval {} skipped: {}", health.intervals_total, e.what());
      // The namespace's series go (no stale numbers served as current); the health stays, so
      // the errors and the age of the last success show.
      try {
        write_file_atomically(dir,
                              options.textfile_name,
                              "." + options.textfile_name + ".tmp." + std::to_string(::getpid()),
                              metrics_text({}, health),
                              0644);
      } catch (const Error& again) {
        spdlog::error("monitor: {}", again.what());
      }
    }
    if (options.count && health.intervals_total >= *options.count) {
      return 0;
    }
    const auto next = begin + options.interval;
    for (;;) {
      const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
      const int sig = signals.wait(left);
      if (sig == 0) {
        break;
      }
      if (sig == SIGHUP) {
        try {
          config = load();
          spdlog::info(
            "monitor: SIGHUP: profile {} and policy {} loaded", config.profile.id, config.policy.id);
        } catch (const Error& e) {
          spdlog::error("monitor: SIGHUP: keeping the profile and policy in use: {}", e.what());
        }
        continue;
      }
      spdlog::info("monitor: {}: stopping after {} intervals", strsignal(sig), health.intervals_total);
      return 0;
    }
  }
}

} // namespace tw
