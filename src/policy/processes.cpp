// Who churns connections and who leaks them: findings over the processes the census named and
// over the TCP counters, and the client-specific wording of the connection-reuse advice.
#include "policy/processes.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace tw::policy {

namespace {

// "pid 4242 (server)" for a process the census named.
std::string who(const ProcessConnections& p)
{
  return "pid " + std::to_string(p.pid) + " (" + p.comm + ")";
}

// The endpoint with the most CLOSE_WAIT sockets of a process, or "" when none has any.
std::string close_wait_endpoint(const ProcessConnections& p)
{
  const ProcessDestination* best = nullptr;
  for (const auto& d : p.destinations) {
    if (d.connections.close_wait > 0 &&
        (best == nullptr || d.connections.close_wait > best->connections.close_wait)) {
      best = &d;
    }
  }
  if (best == nullptr) {
    return {};
  }
  return (best->inbound ? " accepted on " : " towards ") + best->destination;
}

// Why the census could not name owners, for a finding that would name them.
std::string owners_unknown(const ProcessAttribution& owners)
{
  if (!owners.walked) {
    return "owners not named: " + owners.reason;
  }
  if (owners.processes_unreadable > 0) {
    return "owners not found: the fd tables of " +
           counted(owners.processes_unreadable, "process", "processes") + " were unreadable (run as root)";
  }
  return "owners not found in any process's fd table";
}

void close_wait_leak(const Analysis& a, std::vector<Finding>& out)
{
  const SocketCensus& c = a.facts.sockets;
  const std::uint64_t threshold =
    static_cast<std::uint64_t>(std::max<std::int64_t>(1, a.policy.close_wait_per_process.value));
  const std::uint64_t total = c.states[static_cast<std::size_t>(TcpState::close_wait)];
  if (!c.available || total < threshold) {
    return;
  }
  std::vector<const ProcessConnections*> leaking;
  for (const auto& p : c.processes.processes) {
    if (p.connections.close_wait >= threshold) {
      leaking.push_back(&p);
    }
  }
  std::sort(leaking.begin(), leaking.end(), [](const auto* x, const auto* y) {
    return x->connections.close_wait > y->connections.close_wait;
  });
  Finding f{ "close-wait-leak", Severity::warning, {}, {}, {} };
  f.evidence = { { "close_wait", as_double(total) },
                 { "threshold", as_double(threshold) },
                 { "processes", as_double(leaking.size()) } };
  std::uint64_t named = 0; // CLOSE_WAIT sockets of the processes the census named
  for (const auto& p : c.processes.processes) {
    named += p.connections.close_wait;
  }
  const std::uint64_t unnamed = total > named ? total - named : 0;
  f.evidence["unattributed"] = as_double(unnamed);
  if (leaking.empty()) {
    if (unnamed < threshold) {
      return; // owners named, none holds a pile: spread over many processes, each in-flight work
    }
    f.summary = counted(total, "socket") + " in CLOSE_WAIT, " + std::to_string(unnamed) + " of them (" +
                owners_unknown(c.processes) + ")";
  } else {
    const ProcessConnections& top = *leaking.front();
    f.evidence["top_pid"] = top.pid;
    f.evidence["top_close_wait"] = as_double(top.connections.close_wait);
    f.summary = who(top) + " holds " + counted(top.connections.close_wait, "CLOSE_WAIT socket") +
                close_wait_endpoint(top);
    if (top.oldest_close_wait_ms > 0) {
      f.evidence["oldest_close_wait_seconds"] = static_cast<double>(top.oldest_close_wait_ms) / 1000.0;
      f.summary += ", the oldest " +
                   number(std::floor(static_cast<double>(top.oldest_close_wait_ms) / 100.0) / 10.0) +
                   " s since the peer's last ACK";
    }
    for (std::size_t i = 1; i < leaking.size() && i < 3; ++i) {
      f.summary += "; " + who(*leaking[i]) + " " + std::to_string(leaking[i]->connections.close_wait);
    }
    if (leaking.size() > 3) {
      f.summary += "; " + std::to_string(leaking.size() - 3) + " more";
    }
    f.summary += " (" + std::to_string(total) + " in all)";
    if (unnamed >= threshold && (c.processes.processes_unreadable > 0 || !c.processes.walked)) {
      f.summary +=
        "; " + std::to_string(unnamed) + " without a named owner (" + owners_unknown(c.processes) + ")";
    }
  }
  f.rationale = "CLOSE_WAIT means the peer closed and this program has not called close(): the socket, its "
                "fd and its port stay until it does. No sysctl ends CLOSE_WAIT; fix the close() path "
                "(error paths, a pool that never evicts dead connections)";
  out.push_back(std::move(f));
}

// New connections per second towards a group: the probe's connect() calls when it watched,
// else the group's TIME_WAIT over the 60 s each lasts (a lower bound: RSTs and reuse end some).
double group_churn(const Analysis& a, const GroupView& g, bool& measured)
{
  measured = a.probed && a.facts.evidence.window_seconds > 0.0 && g.symptom != nullptr;
  if (measured) {
    std::uint64_t connects = 0;
    for (const auto& p : g.symptom->processes) {
      connects += p.connects;
    }
    return static_cast<double>(connects) / a.facts.evidence.window_seconds;
  }
  return static_cast<double>(g.group->time_wait) / (static_cast<double>(k_time_wait_ms) / 1000.0);
}

void connection_churn(const Analysis& a, std::vector<Finding>& out)
{
  const double threshold = a.policy.churn_per_second.value;
  const GroupView* worst = nullptr;
  double rate = 0.0;
  bool measured = false;
  for (const auto& g : a.groups) {
    bool m = false;
    const double r = g.group != nullptr ? group_churn(a, g, m) : 0.0;
    if (r > rate) {
      worst = &g;
      rate = r;
      measured = m;
    }
  }
  if (worst == nullptr || rate < threshold) {
    return;
  }
  Finding f{ "connection-churn", Severity::info, {}, {}, {} };
  f.evidence = { { "new_connections_per_second", rate }, { "threshold", threshold } };
  f.summary = number(std::round(rate)) + " new connections/s towards " + group_name(*worst->group) +
              (measured ? " (connect() calls, measured)" : " (at least: its TIME_WAIT / 60 s)");
  if (a.facts.rates) {
    if (const auto opens = a.facts.rates->rate("Tcp.ActiveOpens")) {
      f.evidence["active_opens_per_second"] = *opens;
    }
  }
  const std::vector<ProcessRef> top = churning_processes(a, *worst);
  if (!top.empty()) {
    f.evidence["top_pid"] = top.front().pid;
    f.summary += "; " + top.front().text;
    for (std::size_t i = 1; i < top.size(); ++i) {
      f.summary += ", " + top[i].text;
    }
  }
  f.rationale = "each connection this host closes first holds its port towards that destination in TIME_WAIT "
                "for 60 s; a client that reuses connections (keep-alive, a pool) needs a handful instead";
  out.push_back(std::move(f));
}

void open_close_imbalance(const Analysis& a, std::vector<Finding>& out)
{
  if (!a.facts.rates) {
    return;
  }
  const auto& d = a.facts.rates->delta;
  const auto get = [&d](const char* key) -> std::uint64_t {
    const auto it = d.find(key);
    return it == d.end() ? 0 : it->second;
  };
  const std::uint64_t opened = get("Tcp.ActiveOpens") + get("Tcp.PassiveOpens");
  const std::uint64_t failed = get("Tcp.AttemptFails");
  const std::uint64_t rise = get("Tcp.CurrEstab"); // present only when it rose
  const std::uint64_t made = opened > failed ? opened - failed : 0;
  constexpr std::uint64_t k_min_rise = 10; // a handful more live connections is noise
  if (made == 0 || rise < k_min_rise) {
    return;
  }
  const double share = static_cast<double>(rise) / static_cast<double>(made);
  if (share < a.policy.imbalance_share.value) {
    return;
  }
  Finding f{
    "open-close-imbalance", Severity::info, {}, {}, {}
  }; // a short window cannot tell a leak from a ramp-up
  f.evidence = { { "opened", as_double(made) },
                 { "still_open", as_double(rise) },
                 { "share", share },
                 { "window_seconds", a.facts.rates->interval_seconds } };
  f.summary = "of " + std::to_string(made) + " connections made in " +
              number(a.facts.rates->interval_seconds) + " s, " + std::to_string(rise) + " (" +
              percent(share) + ") did not end: Tcp.CurrEstab rose by as many";
  const auto& procs = a.facts.sockets.processes.processes;
  if (!procs.empty()) {
    f.evidence["top_pid"] = procs.front().pid;
    f.summary += "; the largest holder of outbound or CLOSE_WAIT connections is " + who(procs.front()) +
                 " with " + counted(procs.front().connections.total(), "connection");
  }
  f.rationale = "connections opened and closed in balance keep CurrEstab (ESTABLISHED plus CLOSE_WAIT) "
                "flat; a steady rise is a program that opens without closing, or a pool without a cap";
  out.push_back(std::move(f));
}

// Growing through the whole window: never falling from one count to the next, rising in both
// halves (a pool that fills and levels off does not), by at least min_gain.
bool grows_throughout(const DestinationTrend& d, std::uint64_t min_gain)
{
  const auto& e = d.established;
  if (e.size() < 3 || e.back() < e.front() + min_gain) {
    return false;
  }
  for (std::size_t i = 1; i < e.size(); ++i) {
    if (e[i] < e[i - 1]) {
      return false;
    }
  }
  const std::uint64_t mid = e[e.size() / 2];
  return mid > e.front() && e.back() > mid;
}

void established_growing(const Analysis& a, std::vector<Finding>& out)
{
  const EstablishedTrend& t = a.facts.established;
  if (!t.measured || t.at_seconds.size() < 3) {
    return;
  }
  const auto min_gain =
    static_cast<std::uint64_t>(std::max<std::int64_t>(1, a.policy.established_growth.value));
  std::vector<const DestinationTrend*> growing; // most gained first, as the trend keeps them
  for (const auto& d : t.destinations) {
    if (grows_throughout(d, min_gain)) {
      growing.push_back(&d);
    }
  }
  if (growing.empty()) {
    return;
  }
  const DestinationTrend& top = *growing.front();
  const double window = t.at_seconds.back();
  Finding f{ "established-growing", Severity::warning, {}, {}, {} };
  f.evidence = { { "destinations", as_double(growing.size()) },
                 { "first", as_double(top.established.front()) },
                 { "last", as_double(top.established.back()) },
                 { "slope_per_second", top.slope_per_second },
                 { "window_seconds", window },
                 { "threshold", as_double(min_gain) } };
  f.summary = "ESTABLISHED towards " + top.destination + " rose from " +
              std::to_string(top.established.front()) + " to " + std::to_string(top.established.back()) +
              " through the " + number(window) + " s window (" +
              number(std::round(top.slope_per_second * 10.0) / 10.0) + "/s), never falling";
  // The holder: the named process with most outbound ESTABLISHED connections towards it.
  const ProcessConnections* holder = nullptr;
  std::uint64_t held = 0;
  for (const auto& p : a.facts.sockets.processes.processes) {
    for (const auto& d : p.destinations) {
      if (!d.inbound && d.destination == top.destination && d.connections.established > held) {
        holder = &p;
        held = d.connections.established;
      }
    }
  }
  if (holder != nullptr) {
    f.evidence["top_pid"] = holder->pid;
    f.summary += "; " + who(*holder) + " holds " + counted(held, "connection") + " to it";
  } else {
    f.summary += " (" + owners_unknown(a.facts.sockets.processes) + ")";
  }
  if (growing.size() > 1) {
    f.summary += "; " + counted(growing.size() - 1, "more destination") + " growing";
  }
  f.rationale = "a pool fills once and levels off; a count that only rises is a program opening connections "
                "it never closes (a missing close() on an error path, a pool without a cap), which ends in "
                "EMFILE or in the ports towards that destination running out. A pool still warming up "
                "rises too: a longer --sample tells them apart";
  out.push_back(std::move(f));
}

void orphans_near_limit(const Analysis& a, std::vector<Finding>& out)
{
  const auto orphans = a.facts.counters.get("sockstat.tcp_orphan");
  const auto max = a.facts.sysctls.get_int("net.ipv4.tcp_max_orphans");
  if (!orphans || !max || *max <= 0) {
    return;
  }
  const double share = static_cast<double>(*orphans) / static_cast<double>(*max);
  if (share < a.policy.orphans_share.value) {
    return;
  }
  // tcp_out_of_resources() resets an orphan when orphans << shift exceed the limit, shift 1 for a
  // socket with a soft error (retransmits, ICMP): from half the limit such orphans are reset.
  Finding f{ "orphans-near-limit", share >= 0.5 ? Severity::error : Severity::warning, {}, {}, {} };
  f.evidence = { { "orphans", as_double(*orphans) },
                 { "tcp_max_orphans", static_cast<double>(*max) },
                 { "share", share } };
  f.summary = counted(*orphans, "orphaned socket") + " (closed by their program, still sending) " +
              (*orphans == 1 ? "is " : "are ") + percent(share) + " of net.ipv4.tcp_max_orphans " +
              std::to_string(*max);
  f.rationale =
    "above tcp_max_orphans the kernel resets closing connections (\"too many orphaned sockets\"); "
    "orphans pile up when peers stop reading or vanish, often behind a dead load balancer";
  out.push_back(std::move(f));
}

// The client library hint for a process, from its comm and command line; "" when none applies.
std::string hint_for(const std::string& comm, const std::string& cmdline)
{
  // The program: its comm, or the command line's first word (an interpreter's name).
  const std::string program = cmdline.substr(0, cmdline.find(' '));
  const auto has = [&](std::string_view name) {
    return comm.rfind(name, 0) == 0 || program.rfind(name, 0) == 0; // python3, python3.11, java ...
  };
  if (has("python")) {
    return "in Python, one requests.Session (or httpx.Client) reused for every call pools its connections";
  }
  if (has("java")) {
    return "in Java, one shared HttpClient, and a JDBC pool such as HikariCP for databases";
  }
  if (has("nginx")) {
    return "in nginx, `keepalive N;` in the upstream block with `proxy_http_version 1.1;` and "
           "`proxy_set_header Connection \"\";`";
  }
  if (has("node")) {
    return "in Node.js, an http.Agent with keepAlive: true shared by the requests";
  }
  if (has("php")) {
    return "in PHP, persistent connections (PDO::ATTR_PERSISTENT) or a pooler in front of the database";
  }
  if (has("ruby")) {
    return "in Ruby, a persistent HTTP client (net-http-persistent) shared by the requests";
  }
  if (comm == "curl" || comm == "wget") {
    return "a shell loop of " + comm + " opens one connection per run: fetch many URLs in one " + comm +
           " call, or use a client with keep-alive";
  }
  return {};
}

} // namespace

std::vector<ProcessRef> churning_processes(const Analysis& a, const GroupView& g)
{
  std::vector<ProcessRef> out;
  if (g.group == nullptr) {
    return out;
  }
  const std::string target = endpoint_text(g.group->family, g.group->remote, g.group->remote_port);
  const SymptomEvidence& e = a.facts.evidence;
  if (a.probed && e.window_seconds > 0.0 && g.symptom != nullptr && !g.symptom->processes.empty()) {
    for (const auto& p : g.symptom->processes) { // most failures first, then most connects
      if (out.size() == 3) {
        break;
      }
      const double per_second = static_cast<double>(p.connects) / e.window_seconds;
      std::string cmdline; // the census names the process too when it still held a connection
      for (const auto& q : a.facts.sockets.processes.processes) {
        cmdline = q.pid == p.pid ? q.cmdline : cmdline;
      }
      out.push_back({ p.pid,
                      p.comm,
                      hint_for(p.comm, cmdline),
                      "pid " + std::to_string(p.pid) + " (" + p.comm + ") " +
                        number(std::round(per_second * 10.0) / 10.0) + " connects/s to " + target });
    }
    return out;
  }
  // Without the probe: who was caught holding live connections towards it at census time.
  for (const auto& p : a.facts.sockets.processes.processes) {
    for (const auto& d : p.destinations) {
      const std::uint64_t live = d.connections.established + d.connections.syn_sent;
      if (!d.inbound && d.destination == target && live > 0 && out.size() < 3) {
        out.push_back({ p.pid,
                        p.comm,
                        hint_for(p.comm, p.cmdline),
                        who(p) + " holds " + counted(live, "live connection") + " to " + target });
      }
    }
  }
  return out;
}

void process_findings(const Analysis& a, std::vector<Finding>& out)
{
  close_wait_leak(a, out);
  connection_churn(a, out);
  open_close_imbalance(a, out);
  established_growing(a, out);
  orphans_near_limit(a, out);
}

} // namespace tw::policy
