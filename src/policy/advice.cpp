// Advice beyond sysctls, each tied to the evidence: the lasting fix is usually the connection model.
#include "policy/analysis.hpp"
#include "policy/processes.hpp"
#include "util/percent.hpp"
#include "util/strings.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <sys/socket.h>
#include <tuple>

namespace tw::policy {

namespace {

// IP_BIND_ADDRESS_NO_PORT advice, only where the census suggests bind(): several local addresses
// towards one destination mean the client picks its source address, which takes a bind() (the
// route alone gives one source per destination). Without such evidence there is no advice: a
// client that only connect()s already gets its port where tcp_tw_reuse applies.
std::optional<Advice> bind_advice(const Analysis& a)
{
  if (!a.bind_failures.empty()) { // measured by the probe
    const SymptomBindFailure& b = *a.bind_failures.front();
    Advice x{ "bind-address-no-port", {}, {}, {} };
    x.text = "In " + processes_text(b.processes) +
             ": set IP_BIND_ADDRESS_NO_PORT before bind(), or drop the bind(), so connect() picks the port "
             "(and shares it across destinations); on Linux 6.3+ IP_LOCAL_PORT_RANGE per socket narrows "
             "where it looks. bind() to port 0 failed " +
             counted(b.count, "time") + " with EADDRINUSE on " + b.local + " in " +
             number(a.facts.evidence.window_seconds) + " s";
    x.rationale = "bind() never consults tcp_tw_reuse (inet_csk_get_port); with IP_BIND_ADDRESS_NO_PORT the "
                  "port is chosen at connect() (__inet_hash_connect), per destination, where TIME_WAIT "
                  "ports can be taken over";
    x.evidence = { { "eaddrinuse", as_double(b.count) },
                   { "processes", as_double(b.processes.size()) },
                   { "groups_bind_driven", as_double(a.bind_driven.size()) } };
    return x;
  }
  struct Destination
  {
    const DestGroup* first = nullptr; // the group that names it (busiest first: census order)
    std::set<std::string> locals;
  };
  std::map<std::tuple<int, std::string, std::uint16_t>, Destination> by_destination;
  for (const auto& v : a.groups) {
    const DestGroup& g = *v.group;
    Destination& d = by_destination[{ g.family, g.remote, g.remote_port }];
    if (d.first == nullptr) {
      d.first = &g;
    }
    d.locals.insert(g.local);
  }
  const Destination* best = nullptr;
  for (const auto& [key, d] : by_destination) {
    if (d.locals.size() >= 2 && (best == nullptr || d.locals.size() > best->locals.size())) {
      best = &d;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  const DestGroup& g = *best->first;
  const std::string remote =
    (g.family == AF_INET6 ? "[" + g.remote + "]" : g.remote) + ":" + std::to_string(g.remote_port);
  std::string examples;
  for (const auto& l : best->locals) {
    examples += (examples.empty() ? "" : ", ") + l;
    if (examples.size() > 60) {
      examples += ", ...";
      break;
    }
  }
  Advice x{ "bind-address-no-port", {}, {}, {} };
  x.text =
    std::to_string(best->locals.size()) + " source addresses connect to " + remote + " (" + examples +
    "), which suggests the client bind()s its source address: set IP_BIND_ADDRESS_NO_PORT before "
    "bind() so the port is chosen at connect(), where tcp_tw_reuse applies; a bind() to port 0 takes "
    "its port in bind(), which never reuses TIME_WAIT and fails with EADDRINUSE when the range is full";
  x.rationale = "bind() never consults tcp_tw_reuse (inet_csk_get_port), and connect() skips ports a bind() "
                "took; IP_BIND_ADDRESS_NO_PORT leaves the port to connect() (__inet_hash_connect), which can "
                "take over a TIME_WAIT port";
  x.evidence = { { "local_addresses", as_double(best->locals.size()) },
                 { "groups_pressured", as_double(a.pressured.size()) } };
  return x;
}

} // namespace

std::vector<Advice> advice(const Analysis& a, Verdict verdict)
{
  std::vector<Advice> out;
  const SocketCensus& c = a.facts.sockets;
  const TimeWaitRoles& r = c.time_wait;
  const bool pressure = !a.pressured.empty();
  const GroupView* top = pressure ? a.pressured.front() : a.busiest;

  if (a.nat_possible && (verdict == Verdict::helps || verdict == Verdict::already_enabled)) {
    Advice x{ "canary-first", {}, {}, {} };
    const SymptomDestination* failing = recycled_failing(a);
    x.text = std::string(failing != nullptr ? "Recycled connects failed (measured)"
                         : a.nat_evidence   ? "Source NAT is in the path"
                                            : "NAT could not be read, so treat source NAT as possible") +
             ": apply with --canary on a few hosts and watch TcpExt.PAWSActive, "
             "PAWSEstab, TSEcrRejected and TCPSynRetrans (apply --watch does) before rolling out";
    x.rationale = "reused tuples behind SNAT can collide at the peer and be dropped by PAWS";
    x.evidence = { { "snat_entries", as_double(a.facts.nat.snat_entries) },
                   { "nat_rules", as_double(a.facts.nat.nat_rules.size()) },
                   { "random_fully", a.facts.nat.random_fully ? 1.0 : 0.0 },
                   { "nat_readable", a.nat_readable ? 1.0 : 0.0 } };
    out.push_back(std::move(x));
  }

  if (r.outbound > 0 && top != nullptr) {
    Advice x{ "connection-reuse", {}, {}, {} };
    const std::vector<ProcessRef> churners = churning_processes(a, *top);
    std::string who;
    std::string hints;
    for (const auto& p : churners) {
      who += (who.empty() ? "; " : ", ") + p.text;
      if (!p.hint.empty() && hints.find(p.hint) == std::string::npos) {
        hints += ". For " + p.comm + ": " + p.hint;
      }
    }
    if (who.empty() && top->symptom != nullptr && !top->symptom->processes.empty()) {
      who = "; connecting: " + processes_text(top->symptom->processes);
    }
    x.text = "Reuse connections instead of opening one per request: HTTP keep-alive or a connection pool "
             "towards " +
             group_name(*top->group) + " (" + counted(top->group->time_wait, "TIME_WAIT socket") + " there" +
             who + "). This is the lasting fix; tcp_tw_reuse only shortens the wait" + hints;
    x.rationale =
      "each closed outbound connection holds its port for 60 s; a pooled connection holds one port "
      "for its whole life";
    x.evidence = { { "group_time_wait", as_double(top->group->time_wait) },
                   { "outbound_time_wait", as_double(r.outbound) },
                   { "groups", as_double(c.group_count) } };
    if (!churners.empty()) {
      x.evidence["top_pid"] = churners.front().pid;
    }
    out.push_back(std::move(x));
  }

  if (r.outbound > 0 && a.usable_ports > 0) {
    const double per_second = static_cast<double>(a.usable_ports) / 60.0;
    Advice x{ "connection-rate-limit", {}, {}, {} };
    x.text = "Closing first without reuse, each destination takes at most " + std::to_string(a.usable_ports) +
             " usable ports / 60 s = " + time_wait_rate(a.usable_ports) + " new connections/s";
    x.evidence = { { "usable_ports", as_double(a.usable_ports) }, { "connections_per_second", per_second } };
    if (a.facts.rates) {
      if (const auto opens = a.facts.rates->rate("Tcp.ActiveOpens")) {
        x.text += "; this host opens " + number(*opens) + " connections/s now (all destinations)";
        x.evidence["active_opens_per_second"] = *opens;
      }
    }
    x.rationale = "one local port per connection per (source, destination, port), and TIME_WAIT lasts 60 s "
                  "(TCP_TIMEWAIT_LEN, not tcp_fin_timeout)";
    out.push_back(std::move(x));
  }

  if (pressure) {
    Advice x{ "more-destinations", {}, {}, {} };
    x.text = "Spread the load over more destination addresses or ports (or source addresses): each "
             "(source, destination, port) has its own " +
             std::to_string(a.usable_ports) + " ports";
    x.rationale = "port pressure is per destination group, not global";
    x.evidence = { { "groups_pressured", as_double(a.pressured.size()) },
                   { "usable_ports", as_double(a.usable_ports) } };
    out.push_back(std::move(x));

    if (auto y = bind_advice(a)) {
      out.push_back(std::move(*y));
    }

    if (a.port_range && static_cast<std::int64_t>(a.port_range->size()) < a.policy.narrow_port_range.value) {
      Advice z{ "widen-port-range", {}, {}, {} };
      z.text = "Widen net.ipv4.ip_local_port_range (now " + std::to_string(a.port_range->low) + " " +
               std::to_string(a.port_range->high) + ", " + std::to_string(a.port_range->size()) +
               " ports; the kernel default 32768 60999 holds 28232): never narrow it";
      z.rationale = "capacity per destination grows with the range";
      z.evidence = { { "ports", a.port_range->size() } };
      out.push_back(std::move(z));
    }
  }

  if (!pressure && !a.bind_driven.empty()) { // measured bind() clients: their only pressure
    if (auto y = bind_advice(a)) {
      out.push_back(std::move(*y));
    }
  }

  if (r.inbound > 0 && r.outbound == 0) {
    Advice x{ "inbound-only", {}, {}, {} };
    x.text = "All TIME_WAIT here is inbound: tcp_tw_reuse does nothing for accepted connections. If it is a "
             "concern, let clients close first (keep-alive, no server-side close after each response)";
    x.rationale = "only connect() consults tcp_tw_reuse; inbound TIME_WAIT costs memory, not ports";
    x.evidence = { { "inbound_time_wait", as_double(r.inbound) } };
    out.push_back(std::move(x));
  }

  const TimestampShare& ts = c.timestamps;
  const auto share = ts.share();
  if (pressure && (!a.peer_refused.empty() || (share && *share < a.policy.min_timestamp_share.value))) {
    Advice x{ "peer-timestamps", {}, {}, {} };
    x.text =
      a.peer_refused.empty()
        ? "Find which peers refuse TCP timestamps (ss -tni shows 'ts' per connection): their TIME_WAIT "
          "ports can never be reused"
        : "Ask the owner of " + a.peer_refused.front()->group->remote +
            " to enable TCP timestamps (net.ipv4.tcp_timestamps there), or pool connections to it: "
            "without timestamps its TIME_WAIT ports can never be reused";
    x.rationale = "reuse needs timestamps negotiated on the old connection";
    x.evidence = { { "share", share.value_or(0.0) },
                   { "outbound_established", as_double(ts.outbound_established) },
                   { "peers_refusing", as_double(a.peer_refused.size()) } };
    out.push_back(std::move(x));
  }

  const std::string& kind = a.facts.host.netns_kind;
  if (!kind.empty() && kind != "host" && verdict == Verdict::helps) {
    Advice x{ "persist-in-namespace", {}, {}, {} };
    // The pod, when a container runtime's config in this namespace names one.
    std::string pod;
    if (a.facts.namespace_boot) {
      for (const auto& container : a.facts.namespace_boot->containers) {
        pod = pod.empty() ? container.pod : pod;
      }
    }
    const std::string unsafe = "(tcp_tw_reuse is not in the safe set: the kubelet needs "
                               "--allowed-unsafe-sysctls=net.ipv4.tcp_tw_reuse)";
    if (!pod.empty()) {
      x.text = "This is pod " + pod +
               "'s namespace, not the host's: make the change last in what creates the pod, its "
               "Deployment's (StatefulSet's, DaemonSet's) pod template or its static-pod manifest: "
               "securityContext.sysctls " +
               unsafe + "; a running pod's securityContext cannot be edited";
    } else {
      x.text = "This is " +
               (a.facts.host.netns_name.empty() ? std::string("not the host's namespace")
                                                : "namespace " + a.facts.host.netns_name) +
               ", not the host's: make the change last where the namespace is made. Kubernetes: the pod's "
               "securityContext.sysctls " +
               unsafe +
               "; Docker: `docker run --sysctl net.ipv4.tcp_tw_reuse=1`; a CNI chain: the tuning plugin; "
               "`ip netns`: the script that makes it";
    }
    x.rationale = "sysctl.d files are applied to the host's namespace at boot and never reach another one; "
                  "a new namespace starts from kernel defaults and what its runtime sets, so `apply` here "
                  "changes runtime values only";
    x.evidence = { { "netns_inode", static_cast<double>(a.facts.host.netns_inode) } };
    out.push_back(std::move(x));
  }

  if (a.profile.container_netns.value && (kind.empty() || kind == "host")) {
    Advice x{ "per-netns", {}, {}, {} };
    x.text =
      "Containers and pods have their own network namespaces and their own tcp_tw_reuse: "
      "`tw-advisor plan --all-netns` judges every one of them; do not trust the host's answer for them";
    x.rationale =
      "tw_reuse, the port range and the counters are per network namespace; a new namespace starts "
      "from kernel defaults";
    x.evidence = { { "netns_inode", static_cast<double>(a.facts.host.netns_inode) } };
    out.push_back(std::move(x));
  }
  return out;
}

} // namespace tw::policy
