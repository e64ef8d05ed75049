// The monitor's Prometheus exposition: what node_exporter's textfile collector serves, so that an
// alert can fire before connect() fails (doc/monitor.md lists every family).
#include "report/metrics_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

namespace tw {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes one metric family at a time: HELP and TYPE once, then its samples.
class Exposition
{
public:
  void family(std::string_view name, std::string_view type, std::string_view help)
  {
    m_name = name;
    m_out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }

  void sample(const Labels& labels, double value)
  {
    m_out += m_name;
    if (!labels.empty()) {
      m_out += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        m_out += fmt::format(
          "{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first, escape_label_value(labels[i].second));
      }
      m_out += '}';
    }
    m_out += ' ' + number(value) + '\n';
  }

  std::string text() const { return m_out; }

private:
  static std::string number(double v)
  {
    if (std::isnan(v)) {
      return "NaN";
    }
    if (std::isinf(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
      return fmt::format("{}", static_cast<long long>(v));
    }
    return fmt::format("{}", v);
  }

  std::string m_name;
  std::string m_out;
};

double as_double(std::uint64_t v)
{
  return static_cast<double>(v);
}

// The kernel counters that matter, by the metric each becomes.
struct KernelCounter
{
  const char* counter; // the name in Counters ("TcpExt.TWRecycled")
  const char* metric;
  const char* help;
};

constexpr KernelCounter k_kernel_counters[] = {
  { "TcpExt.TWRecycled",
    "tw_advisor_kernel_tw_recycled_total",
    "Connects that took over a TIME_WAIT tuple (TcpExt.TWRecycled)." },
  { "TcpExt.TCPTimeWaitOverflow",
    "tw_advisor_kernel_time_wait_overflow_total",
    "Closes that skipped TIME_WAIT because tcp_max_tw_buckets was full (TcpExt.TCPTimeWaitOverflow)." },
  { "TcpExt.PAWSActive",
    "tw_advisor_kernel_paws_active_rejected_total",
    "SYN-ACKs dropped by PAWS on active opens (TcpExt.PAWSActive)." },
  { "TcpExt.PAWSEstab",
    "tw_advisor_kernel_paws_established_rejected_total",
    "Segments dropped by PAWS on established connections (TcpExt.PAWSEstab)." },
  { "Tcp.AttemptFails",
    "tw_advisor_kernel_attempt_fails_total",
    "Connection attempts that failed (Tcp.AttemptFails)." },
};

constexpr Verdict k_verdicts[] = { Verdict::helps,
                                   Verdict::irrelevant,
                                   Verdict::already_enabled,
                                   Verdict::blocked,
                                   Verdict::insufficient_evidence };

double time_wait_ratio(const DestGroup& g)
{
  return g.usable == 0 ? 0.0
                       : std::min(1.0, static_cast<double>(g.time_wait) / static_cast<double>(g.usable));
}

// The groups the exposition shows for one namespace: the top n by pressure (ports in use) and
// the top n by TIME_WAIT share (what tcp_tw_reuse acts on), as the census keeps both, in the
// census's order.
std::vector<const DestGroup*> shown_groups(const SocketCensus& c, std::size_t n)
{
  std::vector<const DestGroup*> by_pressure;
  for (const auto& g : c.groups) {
    by_pressure.push_back(&g);
  }
  std::vector<const DestGroup*> by_time_wait = by_pressure;
  std::stable_sort(by_pressure.begin(), by_pressure.end(), [](const DestGroup* a, const DestGroup* b) {
    return a->pressure > b->pressure;
  });
  std::stable_sort(by_time_wait.begin(), by_time_wait.end(), [](const DestGroup* a, const DestGroup* b) {
    return a->time_wait > b->time_wait;
  });
  std::vector<const DestGroup*> out;
  for (const DestGroup& g : c.groups) {
    const auto in_top = [&g, n](const std::vector<const DestGroup*>& order) {
      const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(n, order.size()));
      return std::find(order.begin(), end, &g) != end;
    };
    if (in_top(by_pressure) || in_top(by_time_wait)) {
      out.push_back(&g);
    }
  }
  return out;
}

// The n keys of a probe total map with the largest rank, in key order (stable labels).
template<typename Map, typename Rank>
std::vector<typename Map::const_iterator> top_keys(const Map& map, std::size_t n, Rank rank)
{
  std::vector<typename Map::const_iterator> all;
  for (auto it = map.begin(); it != map.end(); ++it) {
    all.push_back(it);
  }
  std::stable_sort(
    all.begin(), all.end(), [&rank](const auto& a, const auto& b) { return rank(*a) > rank(*b); });
  if (all.size() > n) {
    all.resize(n);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a->first < b->first; });
  return all;
}

Labels group_labels(const std::string& netns, const DestGroup& g)
{
  return { { "netns", netns },
           { "local", g.local },
           { "destination", endpoint_text(g.family, g.remote, g.remote_port) } };
}

} // namespace

std::string escape_label_value(const std::string& value)
{
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metrics_text(const std::vector<NamespaceMetrics>& namespaces,
                         const MonitorHealth& health,
                         std::size_t destinations)
{
  Exposition e;
  e.family("tw_advisor_tcp_sockets", "gauge", "TCP sockets by state, both families, at the last interval.");
  for (const auto& ns : namespaces) {
    const SocketCensus& c = ns.facts.sockets;
    if (!c.available) {
      continue;
    }
    for (std::size_t s = 1; s < k_tcp_state_slots; ++s) {
      e.sample({ { "netns", ns.netns }, { "state", tcp_state_name(s) } }, as_double(c.states[s]));
    }
  }
  e.family("tw_advisor_time_wait_sockets",
           "gauge",
           "TIME_WAIT sockets by role: outbound (this host connected; tcp_tw_reuse can free them), "
           "inbound (accepted; it never applies), unknown.");
  for (const auto& ns : namespaces) {
    const TimeWaitRoles& r = ns.facts.sockets.time_wait;
    if (!ns.facts.sockets.available) {
      continue;
    }
    e.sample({ { "netns", ns.netns }, { "role", "outbound" } }, as_double(r.outbound));
    e.sample({ { "netns", ns.netns }, { "role", "inbound" } }, as_double(r.inbound));
    e.sample({ { "netns", ns.netns }, { "role", "unknown" } }, as_double(r.unknown));
  }
  e.family("tw_advisor_local_port_range_ports", "gauge", "Ports in net.ipv4.ip_local_port_range.");
  for (const auto& ns : namespaces) {
    if (const auto& range = ns.facts.sockets.port_range) {
      e.sample({ { "netns", ns.netns } }, as_double(range->size()));
    }
  }
  e.family("tw_advisor_usable_local_ports",
           "gauge",
           "Ports connect() may pick towards one destination: the range less ip_local_reserved_ports.");
  for (const auto& ns : namespaces) {
    if (ns.facts.sockets.port_range) {
      e.sample({ { "netns", ns.netns } }, as_double(ns.facts.sockets.usable_ports));
    }
  }
  e.family("tw_advisor_destination_ports_in_use",
           "gauge",
           "Local ports held towards one destination (TIME_WAIT and live), the busiest destinations only.");
  for (const auto& ns : namespaces) {
    for (const DestGroup* g : shown_groups(ns.facts.sockets, destinations)) {
      e.sample(group_labels(ns.netns, *g), as_double(g->in_use));
    }
  }
  e.family("tw_advisor_destination_time_wait_sockets",
           "gauge",
           "Outbound TIME_WAIT sockets towards one destination, the busiest destinations only.");
  for (const auto& ns : namespaces) {
    for (const DestGroup* g : shown_groups(ns.facts.sockets, destinations)) {
      e.sample(group_labels(ns.netns, *g), as_double(g->time_wait));
    }
  }
  e.family("tw_advisor_destination_port_pressure_ratio",
           "gauge",
           "Ports in use towards one destination over the usable ports (1: connect() there fails).");
  for (const auto& ns : namespaces) {
    for (const DestGroup* g : shown_groups(ns.facts.sockets, destinations)) {
      e.sample(group_labels(ns.netns, *g), g->pressure);
    }
  }
  e.family("tw_advisor_destination_time_wait_ratio",
           "gauge",
           "Outbound TIME_WAIT towards one destination over the usable ports: the share tcp_tw_reuse can "
           "free, which the policy's time_wait_pressure threshold is about.");
  for (const auto& ns : namespaces) {
    for (const DestGroup* g : shown_groups(ns.facts.sockets, destinations)) {
      e.sample(group_labels(ns.netns, *g), time_wait_ratio(*g));
    }
  }
  for (const KernelCounter& k : k_kernel_counters) {
    e.family(k.metric, "counter", k.help);
    for (const auto& ns : namespaces) {
      if (const auto v = ns.facts.counters.get(k.counter)) {
        e.sample({ { "netns", ns.netns } }, as_double(*v));
      }
    }
  }
  const auto probe_family = [&](const char* name, const char* help, std::uint64_t ProbeTotals::*field) {
    e.family(name, "counter", help);
    for (const auto& ns : namespaces) {
      const auto rank = [](const auto& entry) {
        return std::make_pair(entry.second.connect_eaddrnotavail + entry.second.recycled_failed,
                              entry.second.recycled);
      };
      for (const auto& it : top_keys(ns.destinations, destinations, rank)) {
        e.sample({ { "netns", ns.netns }, { "destination", it->first } }, as_double(it->second.*field));
      }
    }
  };
  probe_family("tw_advisor_connect_eaddrnotavail_total",
               "connect() calls that failed with EADDRNOTAVAIL (no local port left), measured by the probe.",
               &ProbeTotals::connect_eaddrnotavail);
  probe_family(
    "tw_advisor_recycled_connects_total",
    "Handshakes that took over a tuple in TIME_WAIT (tcp_tw_reuse at work), measured by the probe.",
    &ProbeTotals::recycled);
  probe_family("tw_advisor_recycled_connects_failed_total",
               "Recycled handshakes closed before ESTABLISHED (the SNAT/PAWS danger), measured by the probe.",
               &ProbeTotals::recycled_failed);
  e.family("tw_advisor_bind_eaddrinuse_total",
           "counter",
           "bind() to port 0 that failed with EADDRINUSE, by local address, measured by the probe.");
  for (const auto& ns : namespaces) {
    const auto rank = [](const auto& entry) { return entry.second; };
    for (const auto& it : top_keys(ns.bind_eaddrinuse, destinations, rank)) {
      e.sample({ { "netns", ns.netns }, { "local", it->first } }, as_double(it->second));
    }
  }
  e.family("tw_advisor_probe_dropped_events_total",
           "counter",
           "Events the probe could not count because its maps were full: its counters undercount.");
  for (const auto& ns : namespaces) {
    if (ns.probed) {
      e.sample({ { "netns", ns.netns } }, as_double(ns.probe_dropped));
    }
  }
  e.family("tw_advisor_probe_missed_events_total",
           "counter",
           "Events the kernel did not hand to the probe (its program already running on that CPU): its "
           "counters undercount.");
  for (const auto& ns : namespaces) {
    if (ns.probed) {
      e.sample({ { "netns", ns.netns } }, as_double(ns.probe_missed));
    }
  }
  e.family("tw_advisor_probe_attached",
           "gauge",
           "1 when the BPF probe measures connect() and bind() in this namespace, else 0.");
  for (const auto& ns : namespaces) {
    e.sample({ { "netns", ns.netns } }, ns.probed ? 1.0 : 0.0);
  }
  e.family("tw_advisor_verdict",
           "gauge",
           "The plan's verdict on net.ipv4.tcp_tw_reuse: 1 for the current one, 0 for the others.");
  for (const auto& ns : namespaces) {
    for (const Verdict v : k_verdicts) {
      e.sample({ { "netns", ns.netns }, { "verdict", to_string(v) } }, v == ns.verdict ? 1.0 : 0.0);
    }
  }
  e.family("tw_advisor_last_success_timestamp_seconds",
           "gauge",
           "Unix time the last good interval ended (0 before the first).");
  e.sample({}, health.last_success_unix_seconds);
  e.family("tw_advisor_interval_duration_seconds", "gauge", "How long the last interval took.");
  e.sample({}, health.last_duration_seconds);
  e.family("tw_advisor_interval_seconds", "gauge", "The monitor's --interval.");
  e.sample({}, health.interval_seconds);
  e.family("tw_advisor_intervals_total", "counter", "Intervals run since the monitor started, good or bad.");
  e.sample({}, as_double(health.intervals_total));
  e.family("tw_advisor_interval_errors_total",
           "counter",
           "Intervals that failed (logged and skipped) since the monitor started.");
  e.sample({}, as_double(health.errors_total));
  return e.text();
}

} // namespace tw
