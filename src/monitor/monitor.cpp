// `tw-advisor monitor`: the same stages as plan (observe -> decide -> report) in a loop with a
// clock. No rule lives here: the verdict is make_plan's, the exposition report/metrics_text's.
#include "monitor/monitor.hpp"

#include "audit/audit.hpp"
#include "facts/gather.hpp"
#include "facts/node.hpp"
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
#include <set>
#include <unistd.h>

namespace tw {

namespace {

// Forgets the keys beyond cap: the ones that last counted longest ago, the lowest rank first
// among equals.
template<typename Map, typename Rank>
void keep_at_most(Map& totals, std::map<std::string, std::uint64_t>& counted, std::size_t cap, Rank rank)
{
  if (totals.size() <= cap) {
    return;
  }
  std::vector<typename Map::iterator> order;
  for (auto it = totals.begin(); it != totals.end(); ++it) {
    order.push_back(it);
  }
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return std::pair(counted[a->first], rank(a->second)) < std::pair(counted[b->first], rank(b->second));
  });
  for (std::size_t i = 0; i < order.size() - cap; ++i) {
    counted.erase(order[i]->first);
    totals.erase(order[i]);
  }
}

} // namespace

void accumulate_probe(ProbeAccumulator& acc,
                      const SymptomEvidence& interval,
                      std::uint64_t interval_number,
                      std::size_t cap)
{
  acc.probed = interval.source == EvidenceSource::probe;
  acc.dropped = interval.dropped;
  acc.missed = interval.missed;
  for (const auto& d : interval.destinations) {
    ProbeTotals& t = acc.destinations[d.destination];
    t.connect_eaddrnotavail += d.connect_eaddrnotavail;
    t.recycled += d.recycled;
    t.recycled_failed += d.recycled_failed;
    acc.destination_counted[d.destination] = interval_number;
    if (d.connect_eaddrnotavail > 0 || d.recycled_failed > 0) {
      HistoryFailures& f = acc.unrecorded[d.destination];
      f.destination = d.destination;
      f.eaddrnotavail += d.connect_eaddrnotavail;
      f.recycled_failed += d.recycled_failed;
    }
  }
  for (const auto& b : interval.bind_eaddrinuse) {
    acc.bind_eaddrinuse[b.local] += b.count;
    acc.bind_counted[b.local] = interval_number;
  }
  keep_at_most(acc.destinations, acc.destination_counted, cap, [](const ProbeTotals& t) {
    return std::pair(t.connect_eaddrnotavail + t.recycled_failed, t.recycled);
  });
  keep_at_most(acc.bind_eaddrinuse, acc.bind_counted, cap, [](std::uint64_t n) { return n; });
  // Failures wait for a history line only while the monitor cannot write one: bounded the same.
  if (acc.unrecorded.size() > cap) {
    std::vector<HistoryFailures> worst;
    for (auto& [name, f] : acc.unrecorded) {
      worst.push_back(f);
    }
    std::stable_sort(worst.begin(), worst.end(), [](const HistoryFailures& a, const HistoryFailures& b) {
      return std::pair(a.eaddrnotavail, a.recycled_failed) > std::pair(b.eaddrnotavail, b.recycled_failed);
    });
    worst.resize(cap);
    acc.unrecorded.clear();
    for (auto& f : worst) {
      acc.unrecorded[f.destination] = f;
    }
  }
}

HistoryRecord history_record(const Facts& facts, const ProbeAccumulator& probe, double at_unix)
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
  for (const auto& [name, f] : probe.unrecorded) {
    r.failures.push_back(f);
  }
  // Bounded like the groups: the destinations that failed most since the last line.
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
                                   const ProbeAccumulator& probe,
                                   const MonitorConfig& config)
{
  NamespaceMetrics m;
  m.netns = label;
  m.verdict = make_plan(facts, config.profile, config.policy).verdict;
  m.probed = probe.probed;
  m.probe_dropped = probe.dropped;
  m.probe_missed = probe.missed;
  m.destinations = probe.destinations;
  m.bind_eaddrinuse = probe.bind_eaddrinuse;
  m.facts = std::move(facts);
  return m;
}

namespace {

// One namespace the monitor watches, across intervals.
struct Watched
{
  ProbeAccumulator probe;
  std::optional<Verdict> verdict;
  std::optional<HistoryWriter> history;
  bool history_tried = false; // opened (or failed to) once: a failure is said once
};

// One namespace's observation in this interval.
struct Observed
{
  NetnsInfo netns;
  std::string label;
  Facts facts;
};

// The namespace's facts, or throws tw::Error: without the census or the counters an interval
// says nothing true about it.
void require_census_and_counters(const Facts& facts)
{
  if (!facts.sockets.available) {
    throw Error("the socket census", facts.sockets.error);
  }
  if (!facts.counters.available) {
    throw Error("the kernel counters", facts.counters.error);
  }
}

GatherOptions interval_gather(const MonitorOptions& options)
{
  GatherOptions gather;
  gather.probe = false;            // the monitor's own probe stays attached across intervals
  gather.attribute_owners = false; // no owners in the exposition: no fd-table pass each interval
  gather.netns = options.netns;    // identified once, at start
  return gather;
}

// This interval's namespaces: the one watched, or every one of the node (a namespace that
// vanished or has no census is left out of this interval, said at debug: pods come and go).
std::vector<Observed> observe(const MonitorOptions& options)
{
  std::vector<Observed> out;
  if (!options.all_netns) {
    Facts facts = gather_facts(interval_gather(options));
    require_census_and_counters(facts);
    NetnsInfo info = options.netns.value_or(NetnsInfo{});
    info.cookie = info.cookie != 0 ? info.cookie : current_netns_cookie();
    out.push_back({ std::move(info), options.netns_label, std::move(facts) });
    return out;
  }
  GatherOptions gather = interval_gather(options);
  gather.netns.reset();
  NodeFacts node = gather_node(gather);
  for (auto& n : node.namespaces) {
    if (!n.facts) {
      spdlog::debug("monitor: {}: not observed: {}", n.netns.name, n.skipped);
      continue;
    }
    try {
      require_census_and_counters(*n.facts);
    } catch (const Error& e) {
      spdlog::warn("monitor: {}: left out of this interval: {}", n.netns.name, e.what());
      continue;
    }
    std::string label = n.netns.name.empty() ? "netns " + std::to_string(n.netns.inode) : n.netns.name;
    out.push_back({ std::move(n.netns), std::move(label), std::move(*n.facts) });
  }
  return out;
}

// The history of one namespace, opened the first time it is seen: the host's (or the one
// namespace's) at start, so that a state dir that cannot be used is said before the first
// interval; another namespace's in its netns-INODE folder, a failure said once.
void open_history(Watched& w, const MonitorOptions& options, const NetnsInfo& netns, const std::string& label)
{
  if (w.history_tried || options.history_keep.count() == 0) {
    return;
  }
  w.history_tried = true;
  const bool own_folder = options.all_netns && netns.kind != NetnsKind::host;
  const std::filesystem::path dir =
    own_folder ? options.state_dir / ("netns-" + std::to_string(netns.inode)) : options.state_dir;
  try {
    w.history.emplace(dir, options.history_keep);
    spdlog::info("monitor: {}: history of the last {} in {}",
                 label,
                 format_duration(options.history_keep),
                 w.history->path().string());
  } catch (const Error& e) {
    if (options.history_asked && !own_folder) {
      throw;
    }
    spdlog::warn(
      "monitor: {}: no history ({}); plan --since will not see this run (--state-dir DIR keeps one "
      "elsewhere, --history 0 says none is wanted)",
      label,
      e.what());
  }
}

// A verdict change is logged and audited; the first judgement of a namespace only logged.
void note_verdict(Watched& w, const std::string& label, Verdict verdict)
{
  if (w.verdict == verdict) {
    return;
  }
  spdlog::info("monitor: {}: verdict {}{}",
               label,
               to_string(verdict),
               w.verdict ? std::string(" (was ") + to_string(*w.verdict) + ")" : "");
  if (w.verdict) {
    audit({ AuditEvent{
      AuditKind::verdict_changed,
      label + ": verdict " + to_string(verdict) + " (was " + to_string(*w.verdict) + ")",
      { { "netns", label }, { "old", to_string(*w.verdict) }, { "new", to_string(verdict) } } } });
  }
  w.verdict = verdict;
}

} // namespace

int run_monitor(const MonitorOptions& options, const LoadMonitorConfig& load, const MonitorSignals& signals)
{
  MonitorConfig config = load();
  // Checked once at start: a textfile directory that cannot be opened is a mistake to say now.
  const Dir dir = Dir::open(options.textfile_dir);
  if (options.all_netns) {
    require_netns_switching("--all-netns");
  }
  std::optional<EvidenceProbe> probe;
  if (options.probe) {
    probe.emplace(ProbeOptions{ .enabled = true, .netns_cookie = 0, .every_namespace = options.all_netns });
    spdlog::info("monitor: probe: {}", probe->reason());
  }
  const auto started = std::chrono::steady_clock::now();
  MonitorHealth health;
  health.interval_seconds = std::chrono::duration<double>(options.interval).count();
  std::map<std::uint64_t, Watched> watched; // by netns cookie (never reused)
  {
    // The host's (or the one namespace's) history is opened now, its errors said before the loop.
    NetnsInfo here = options.netns.value_or(NetnsInfo{});
    here.cookie = here.cookie != 0 ? here.cookie : current_netns_cookie();
    open_history(watched[here.cookie], options, here, options.all_netns ? "host" : options.netns_label);
  }
  spdlog::info("monitor: every {} s into {}{}",
               health.interval_seconds,
               (options.textfile_dir / options.textfile_name).string(),
               options.all_netns ? ", every network namespace" : "");
  for (;;) {
    const auto begin = std::chrono::steady_clock::now();
    ++health.intervals_total;
    // The probe's maps are drained first, whatever this interval's census does: they hold one
    // interval, and its counts go into each namespace's totals (and history) all the same.
    ProbeDrain drained;
    drained.totals = counters_evidence("--no-probe");
    if (probe) {
      drained = probe->drain(std::chrono::duration<double>(begin - started).count());
      for (const auto& [cookie, evidence] : drained.namespaces) {
        accumulate_probe(watched[cookie].probe, evidence, health.intervals_total);
      }
    }
    try {
      std::vector<Observed> seen = observe(options);
      std::vector<NamespaceMetrics> metrics;
      std::set<std::uint64_t> present;
      for (auto& o : seen) {
        present.insert(o.netns.cookie);
        Watched& w = watched[o.netns.cookie];
        if (drained.namespaces.count(o.netns.cookie) == 0) { // nothing counted: the totals still
          accumulate_probe(w.probe, drained.totals, health.intervals_total);
        }
        open_history(w, options, o.netns, o.label);
        std::optional<HistoryRecord> record;
        if (w.history) {
          record = history_record(o.facts, w.probe, unix_now());
        }
        NamespaceMetrics m = namespace_metrics(o.label, std::move(o.facts), w.probe, config);
        note_verdict(w, o.label, m.verdict);
        if (record) {
          try {
            w.history->append(*record);
            w.probe.unrecorded.clear();
          } catch (const Error& e) { // said and counted; the metrics are still worth writing
            ++health.errors_total;
            spdlog::error("monitor: {}: history: {}", o.label, e.what());
          }
        }
        metrics.push_back(std::move(m));
      }
      // A namespace gone is forgotten (its totals, its history lock); its series leave the file.
      if (options.all_netns) {
        std::erase_if(watched, [&present](const auto& entry) { return present.count(entry.first) == 0; });
      }
      health.last_duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      health.last_success_unix_seconds = unix_now();
      write_file_atomically(dir,
                            options.textfile_name,
                            "." + options.textfile_name + ".tmp." + std::to_string(::getpid()),
                            metrics_text(metrics, health),
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
