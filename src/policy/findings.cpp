// What the evidence shows, each with a stable id, the numbers and the kernel behaviour behind it.
#include "policy/analysis.hpp"
#include "policy/history.hpp"
#include "policy/processes.hpp"
#include "util/strings.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>

namespace tw::policy {

namespace {

Evidence group_evidence(const GroupView& v)
{
  return { { "time_wait", as_double(v.group->time_wait) },
           { "in_use", as_double(v.group->in_use) },
           { "usable_ports", as_double(v.usable) },
           { "time_wait_share", v.time_wait_share },
           { "in_use_share", v.in_use_share } };
}

void pressure_findings(const Analysis& a, std::vector<Finding>& out)
{
  if (!a.pressured.empty()) {
    const GroupView& top = *a.pressured.front();
    Finding f{ "port-pressure", Severity::warning, {}, group_evidence(top), {} };
    f.evidence["groups_pressured"] = as_double(a.pressured.size());
    f.evidence["threshold"] = a.time_wait_pressure;
    if (a.planned_delay_ms && a.timestamps && *a.timestamps != 0) {
      // What reuse can free at a time: the part of each socket's 60 s after the reuse delay (with
      // timestamps off none of it, which the timestamps-off finding says).
      const double share = reusable_share(*a.planned_delay_ms);
      f.evidence["reuse_delay_ms"] = static_cast<double>(*a.planned_delay_ms);
      f.evidence["reusable_share"] = share;
      f.evidence["reusable_time_wait"] = std::round(static_cast<double>(top.group->time_wait) * share);
    }
    f.summary = "outbound TIME_WAIT holds " + std::to_string(top.group->time_wait) + " of " +
                std::to_string(top.usable) + " usable ports (" + percent(top.time_wait_share) + ") towards " +
                group_name(*top.group) +
                (a.pressured.size() > 1 ? "; " + counted(a.pressured.size() - 1, "more group") + " pressured"
                                        : std::string());
    f.rationale = "connect() needs a free local port per (source, destination, port) and a TIME_WAIT socket "
                  "holds its port for 60 s; tcp_tw_reuse lets connect() take over such a port early";
    f.told_in =
      std::string(k_told_in_reasons); // the first reason states the busiest group (make_plan checks)
    out.push_back(std::move(f));
  }
  for (const auto& v : a.groups) {
    if (!v.exhausted) {
      continue;
    }
    Finding f{ "ports-exhausted", Severity::error, {}, group_evidence(v), {} };
    const std::string counts = std::to_string(v.group->in_use) + " of " + std::to_string(v.usable) +
                               " usable ports in use, " + std::to_string(v.group->time_wait) +
                               " of them in TIME_WAIT";
    if (v.bind_driven) {
      f.summary = "ports towards " + group_name(*v.group) + " are (nearly) all in use: " + counts +
                  "; the probe saw bind() to port 0 fail there, not connect()";
    } else if (v.reuse_works) {
      f.severity = Severity::warning;
      f.summary = "ports towards " + group_name(*v.group) + " are (nearly) all in use: " + counts +
                  ", which the current tcp_tw_reuse lets connect() take over";
    } else if (v.symptom != nullptr && v.symptom->connect_eaddrnotavail > 0) {
      f.summary = "connect() towards " + group_name(*v.group) +
                  " fails with EADDRNOTAVAIL (measured: " + std::to_string(v.symptom->connect_eaddrnotavail) +
                  " in " + number(a.facts.evidence.window_seconds) + " s): " + counts;
    } else if (a.probed) {
      f.summary = "ports towards " + group_name(*v.group) + " are (nearly) all in use: " + counts +
                  "; the probe saw no connect() there fail in the window";
    } else {
      f.summary = "connect() towards " + group_name(*v.group) +
                  " is at or near EADDRNOTAVAIL (inferred from the counts): " + counts;
    }
    f.rationale = a.probed ? "port exhaustion fails connect() with EADDRNOTAVAIL (or bind() to port 0 with "
                             "EADDRINUSE), which the probe counts; no kernel counter does"
                           : "port exhaustion fails connect() with EADDRNOTAVAIL and increments no counter: "
                             "the socket census is the only evidence (plan --sample N measures it)";
    // The first reason tells the busiest group's exhaustion, unless bind() drives it or the
    // current tcp_tw_reuse takes its ports over (it says neither).
    if (!a.pressured.empty() && a.pressured.front() == &v && !v.bind_driven && !v.reuse_works) {
      f.told_in = std::string(k_told_in_reasons);
    }
    out.push_back(std::move(f));
    break; // the busiest one; the census lists the others
  }
  if (a.tw_reuse && *a.tw_reuse == 2) {
    const auto non_loopback = std::count_if(
      a.uncovered.begin(), a.uncovered.end(), [](const GroupView* v) { return !v->group->loopback; });
    if (non_loopback > 0) {
      const GroupView& top = *a.uncovered.front();
      Finding f{ "tw-reuse-loopback-only", Severity::warning, {}, group_evidence(top), {} };
      f.evidence["tcp_tw_reuse"] = 2;
      f.evidence["groups_uncovered"] = as_double(static_cast<std::uint64_t>(non_loopback));
      f.summary = "net.ipv4.tcp_tw_reuse = 2 reuses only loopback traffic; the pressured group " +
                  group_name(*top.group) + " is not loopback";
      f.rationale = "value 2 applies when the TIME_WAIT socket is bound to lo or an address is 127/8, ::1 or "
                    "::ffff:127.x; the host's own other addresses and containers over veth are not covered";
      out.push_back(std::move(f));
    }
  }
}

void role_findings(const Analysis& a, std::vector<Finding>& out)
{
  const TimeWaitRoles& r = a.facts.sockets.time_wait;
  if (r.inbound > 0) {
    Finding f{ "inbound-time-wait", Severity::info, {}, {}, {} };
    f.evidence = { { "inbound", as_double(r.inbound) },
                   { "outbound", as_double(r.outbound) },
                   { "unknown", as_double(r.unknown) } };
    f.summary = std::to_string(r.inbound) +
                " TIME_WAIT sockets are inbound (this host accepted and closed first): "
                "tcp_tw_reuse does nothing for them";
    f.rationale =
      "only connect() consults tcp_tw_reuse; a server never picks a source port, and a SYN hitting a "
      "server-side TIME_WAIT is judged by tcp_timewait_state_process(), which ignores it";
    out.push_back(std::move(f));
  }
  if (r.unknown > 0) {
    Finding f{ "time-wait-role-unknown", Severity::info, {}, {}, {} };
    f.evidence = { { "unknown", as_double(r.unknown) },
                   { "inbound", as_double(r.inbound) },
                   { "outbound", as_double(r.outbound) },
                   { "outside_range", as_double(r.outside_range) } };
    f.summary = std::to_string(r.unknown) +
                " TIME_WAIT sockets could not be told inbound or outbound (loopback both ends, a service "
                "listening inside the ephemeral range, a port outside the current range with no listener, "
                "or no port range)";
    f.rationale = "the advisor reports unknown rather than guess; such sockets are left out of port pressure";
    out.push_back(std::move(f));
  }
  if (r.outside_range > 0) {
    Finding f{ "time-wait-outside-range", Severity::info, {}, {}, {} };
    f.evidence = { { "outside_range", as_double(r.outside_range) }, { "unknown", as_double(r.unknown) } };
    std::string range = "the current ip_local_port_range";
    if (a.port_range) {
      range += " (" + std::to_string(a.port_range->low) + "-" + std::to_string(a.port_range->high) + ")";
      f.evidence["range_low"] = a.port_range->low;
      f.evidence["range_high"] = a.port_range->high;
    }
    f.summary =
      counted(r.outside_range, "TIME_WAIT socket has", "TIME_WAIT sockets have") + " a local port outside " +
      range +
      " (or reserved) with no listener on it: the range was changed within the last 60 s, a "
      "listener has gone, or clients bind() fixed ports; counted as unknown, not in today's pressure";
    f.rationale =
      "a port connect() would not pick today says only that the socket is older than the range or "
      "that its port was bound; without a listener nothing shows this host accepted it, and "
      "TIME_WAIT from before a range change holds no port connect() can pick now";
    out.push_back(std::move(f));
  }
}

void timestamp_findings(const Analysis& a, std::vector<Finding>& out)
{
  if (a.timestamps && *a.timestamps == 0) {
    Finding f{ "timestamps-off", Severity::error, {}, { { "tcp_timestamps", 0 } }, {} };
    if (a.tw_reuse) {
      f.evidence["tcp_tw_reuse"] = static_cast<double>(*a.tw_reuse);
    }
    f.summary = "net.ipv4.tcp_timestamps = 0: tcp_tw_reuse can never reuse a TIME_WAIT port here";
    f.rationale = "reuse needs the old connection to have negotiated timestamps (tw_ts_recent_stamp != 0); "
                  "without them PAWS cannot tell old segments from new";
    out.push_back(std::move(f));
    return;
  }
  for (const GroupView* v : a.peer_refused) {
    const DestGroup& g = *v->group;
    Finding f{ "peer-refuses-timestamps", Severity::error, {}, group_evidence(*v), {} };
    f.evidence["outbound_established"] = as_double(g.outbound_established);
    f.evidence["negotiated"] = as_double(g.with_timestamps);
    f.evidence["peer_refusal_share"] = a.policy.peer_refusal_share.value;
    f.summary = "the peer refuses TCP timestamps: only " + peer_sample_text(g);
    f.rationale =
      "a TIME_WAIT socket whose connection carried no timestamps (tw_ts_recent_stamp = 0) is "
      "never reused, whatever tcp_tw_reuse says; the fix is on the peer or in the connection model";
    out.push_back(std::move(f));
    break; // the worst group; the prerequisite counts the others
  }
  const TimestampShare& ts = a.facts.sockets.timestamps;
  const auto share = ts.share();
  if (a.peer_refused.empty() && share && *share < a.policy.min_timestamp_share.value &&
      ts.outbound_established >= timestamp_sample(a.policy)) {
    Finding f{ "peer-timestamps-low", Severity::warning, {}, {}, {} };
    f.evidence = { { "outbound_established", as_double(ts.outbound_established) },
                   { "negotiated", as_double(ts.with_timestamps) },
                   { "share", *share },
                   { "min_share", a.policy.min_timestamp_share.value } };
    f.summary = "only " + std::to_string(ts.with_timestamps) + " of " +
                std::to_string(ts.outbound_established) +
                " live outbound connections negotiated timestamps (" + percent(*share) + ")";
    f.rationale =
      "the sysctl says what this host offers; peers that refuse timestamps leave TIME_WAIT sockets "
      "that can never be reused";
    out.push_back(std::move(f));
  }
}

void nat_findings(const Analysis& a, std::vector<Finding>& out)
{
  if (!a.nat_evidence) {
    return;
  }
  const NatEvidence& n = a.facts.nat;
  Finding f{ "source-nat", n.random_fully ? Severity::error : Severity::warning, {}, {}, {} };
  f.evidence = { { "nat_rules", as_double(n.nat_rules.size()) },
                 { "snat_entries", as_double(n.snat_entries) },
                 { "conntrack_scanned", as_double(n.entries_scanned) },
                 { "random_fully", n.random_fully ? 1.0 : 0.0 } };
  f.summary = "source NAT: " + counted(n.nat_rules.size(), "rule") + ", " + std::to_string(n.snat_entries) +
              " SNAT conntrack entries" + (n.random_fully ? ", random-fully port mapping" : "") +
              (n.nat_rules.empty() ? std::string() : " (" + n.nat_rules.front() + ")");
  f.rationale =
    "when SNAT maps different inner flows onto the same outer address and port, the peer may see a "
    "reused 4-tuple with a lower timestamp and drop the SYN by PAWS (worst with random-fully)";
  out.push_back(std::move(f));
}

void counter_findings(const Analysis& a, std::vector<Finding>& out)
{
  const Counters& c = a.facts.counters;
  const auto overflow = c.get("TcpExt.TCPTimeWaitOverflow");
  if (overflow && *overflow > 0) {
    Finding f{
      "time-wait-overflow", Severity::warning, {}, { { "TCPTimeWaitOverflow", as_double(*overflow) } }, {}
    };
    if (const auto max = a.facts.sysctls.get_int("net.ipv4.tcp_max_tw_buckets")) {
      f.evidence["tcp_max_tw_buckets"] = static_cast<double>(*max);
    }
    f.summary = counted(*overflow, "close", "closes") +
                " found tcp_max_tw_buckets full and skipped TIME_WAIT "
                "(TcpExt.TCPTimeWaitOverflow)";
    if (a.facts.rates) {
      if (const auto rate = a.facts.rates->rate("TcpExt.TCPTimeWaitOverflow")) {
        f.evidence["TCPTimeWaitOverflow_per_second"] = *rate;
        f.summary += ", " + number(*rate) + "/s now";
      }
    }
    // TIME_WAIT sockets have no owner: the processes involved are those closing connections fastest
    // towards the destination with most TIME_WAIT, when it overflows now (the counter is cumulative:
    // an overflow of last week says nothing of today's connectors).
    const auto now = a.facts.rates ? a.facts.rates->rate("TcpExt.TCPTimeWaitOverflow") : std::nullopt;
    const GroupView* top = !a.pressured.empty() ? a.pressured.front() : a.busiest;
    if (!now || *now <= 0.0) {
      f.summary +=
        a.facts.rates ? "; none during the --sample window" : "; --sample N tells whether it goes on";
    } else if (top != nullptr) {
      const std::vector<ProcessRef> churners = churning_processes(a, *top);
      for (std::size_t i = 0; i < churners.size(); ++i) {
        f.summary += (i == 0 ? "; closing connections: " : ", ") + churners[i].text;
      }
      if (!churners.empty()) {
        f.evidence["top_pid"] = churners.front().pid;
      }
    }
    f.rationale = "above tcp_max_tw_buckets a closing socket is destroyed without TIME_WAIT protection; the "
                  "TIME_WAIT count is capped, so port pressure may be understated";
    out.push_back(std::move(f));
  }
  // FIN_WAIT2 from the same dump as the TIME_WAIT count (orphaned FIN_WAIT2 mini-sockets appear there
  // as fin-wait-2), not inferred from /proc/net/sockstat read at another moment.
  const std::uint64_t fin_wait2 = a.facts.sockets.states[static_cast<std::size_t>(TcpState::fin_wait2)];
  if (a.facts.sockets.available && fin_wait2 > 0) {
    Finding f{ "fin-wait2-sockets", Severity::info, {}, {}, {} };
    f.evidence = { { "fin_wait2", as_double(fin_wait2) }, { "time_wait", as_double(a.time_wait_total) } };
    f.summary = "the dump shows " + counted(fin_wait2, "socket") + " in FIN_WAIT2 beside " +
                std::to_string(a.time_wait_total) + " in TIME_WAIT";
    if (const auto sockstat_tw = c.get("sockstat.tw")) {
      // A note only: sockstat was read at another moment, so under churn the two differ anyway.
      f.evidence["sockstat_tw"] = as_double(*sockstat_tw);
      f.summary += " (/proc/net/sockstat, read separately, counts " + std::to_string(*sockstat_tw) + " tw)";
    }
    f.rationale = "orphaned FIN_WAIT2 sockets become mini-sockets that last tcp_fin_timeout and hold their "
                  "port; tcp_tw_reuse never reuses them";
    out.push_back(std::move(f));
  }
  const auto recycled = c.get("TcpExt.TWRecycled");
  if (recycled && *recycled > 0) {
    Finding f{ "reuse-happening", Severity::info, {}, { { "TWRecycled", as_double(*recycled) } }, {} };
    // The counter is cumulative since the namespace was created: without a sample it says reuse
    // happened at some time (perhaps under a tcp_tw_reuse rolled back since), not that it happens.
    const std::string total =
      "TcpExt.TWRecycled = " + std::to_string(*recycled) + " since this network namespace was created";
    const auto rate = a.facts.rates ? a.facts.rates->rate("TcpExt.TWRecycled") : std::nullopt;
    if (rate) {
      f.evidence["TWRecycled_per_second"] = *rate;
      f.summary = *rate > 0
                    ? "connect() is taking over TIME_WAIT ports now: TcpExt.TWRecycled rose " +
                        number(*rate) + "/s during the sample (" + std::to_string(*recycled) + " in all)"
                    : total + ", but it did not rise during the sample: no reuse now";
    } else {
      f.summary =
        total +
        ": connect() has taken over TIME_WAIT ports at some time (plan --sample N tells whether it does now)";
    }
    f.rationale =
      "the counter rises only when a TIME_WAIT tuple is reused (tw_reuse, or bind() with SO_REUSEADDR)";
    out.push_back(std::move(f));
  }
}

void intent_findings(const Analysis& a, std::vector<Finding>& out)
{
  const TimeWaitRoles& r = a.facts.sockets.time_wait;
  const HostIntent intent = a.profile.intent.value;
  if (intent == HostIntent::server && !a.pressured.empty()) {
    Finding f{ "intent-mismatch", Severity::info, {}, {}, {} };
    f.evidence = { { "groups_pressured", as_double(a.pressured.size()) },
                   { "outbound_time_wait", as_double(r.outbound) } };
    f.summary = "profile " + a.profile.id + " describes a server, yet " + std::to_string(r.outbound) +
                " outbound TIME_WAIT sockets put pressure on " + group_name(*a.pressured.front()->group) +
                ": health checks, upstream calls or a sidecar?";
    f.rationale = "a server's own outbound churn is usually a side effect worth finding at its source";
    out.push_back(std::move(f));
  } else if (intent == HostIntent::client && r.outbound == 0 && r.inbound > 0) {
    Finding f{ "intent-mismatch", Severity::info, {}, {}, {} };
    f.evidence = { { "inbound_time_wait", as_double(r.inbound) }, { "outbound_time_wait", 0 } };
    f.summary = "profile " + a.profile.id + " describes a client, yet all " + std::to_string(r.inbound) +
                " TIME_WAIT sockets are inbound: is this the right namespace or host?";
    f.rationale = "a client's TIME_WAIT is outbound; judging the wrong namespace gives the wrong answer";
    out.push_back(std::move(f));
  }
}

void sysctl_findings(const Analysis& a, std::vector<Finding>& out)
{
  if (a.port_range && a.port_range->size() > 0 &&
      static_cast<std::int64_t>(a.port_range->size()) < a.policy.narrow_port_range.value) {
    Finding f{ "port-range-narrow", Severity::warning, {}, {}, {} };
    f.evidence = { { "low", a.port_range->low },
                   { "high", a.port_range->high },
                   { "ports", a.port_range->size() },
                   { "threshold", static_cast<double>(a.policy.narrow_port_range.value) } };
    f.summary = "net.ipv4.ip_local_port_range holds only " + std::to_string(a.port_range->size()) +
                " ports (" + std::to_string(a.port_range->low) + "-" + std::to_string(a.port_range->high) +
                ")";
    f.rationale = "every destination group can hold at most this many connections, TIME_WAIT included";
    out.push_back(std::move(f));
  }
  if (a.port_range && a.port_range->size() > 0 && a.reserved_in_range > 0) {
    const double share = static_cast<double>(a.reserved_in_range) / static_cast<double>(a.port_range->size());
    if (share >= a.policy.reserved_share.value) {
      Finding f{ "reserved-ports-in-range", Severity::warning, {}, {}, {} };
      f.evidence = { { "reserved_in_range", as_double(a.reserved_in_range) },
                     { "range_ports", a.port_range->size() },
                     { "share", share } };
      f.summary = std::to_string(a.reserved_in_range) + " ports of the ephemeral range are reserved (" +
                  percent(share) + ")";
      f.rationale = "connect() skips ip_local_reserved_ports, so they shrink every destination's capacity";
      out.push_back(std::move(f));
    }
  }
  const SysctlValue* recycle = a.facts.sysctls.find("net.ipv4.tcp_tw_recycle");
  if (recycle != nullptr && recycle->status == ReadStatus::ok) {
    Finding f{ "tw-recycle-present", Severity::warning, {}, {}, {} };
    if (const auto v = a.facts.sysctls.get_int("net.ipv4.tcp_tw_recycle")) {
      f.evidence["tcp_tw_recycle"] = static_cast<double>(*v);
    }
    f.summary =
      "net.ipv4.tcp_tw_recycle exists (kernel before 4.12) and is " + recycle->value + ": never enable it";
    f.rationale =
      "tw_recycle dropped SYNs from clients behind NAT and was removed in 4.12; configs that set it "
      "fail at boot on current kernels";
    out.push_back(std::move(f));
  }
  if (a.facts.sockets.groups_truncated) {
    Finding f{
      "groups-truncated", Severity::info, {}, { { "groups", as_double(a.facts.sockets.group_count) } }, {}
    };
    f.summary =
      "the census hit its destination group cap; TIME_WAIT pressure is judged on the groups it kept "
      "(the census notes say how the rest were folded)";
    f.rationale = "memory is bounded on huge hosts; groups past the cap are folded into the role totals";
    out.push_back(std::move(f));
  }
}

// The symptom measured by the evidence probe: failed connect() and bind(), recycled connects that
// failed, and connect() slowing down as a range fills (the early warning).
void symptom_findings(const Analysis& a, std::vector<Finding>& out)
{
  if (!a.probed) {
    return;
  }
  const SymptomEvidence& e = a.facts.evidence;
  const double window = e.window_seconds;
  const SymptomDestination* worst = nullptr;
  for (const auto& d : e.destinations) {
    if (d.connect_eaddrnotavail > 0 &&
        (worst == nullptr || d.connect_eaddrnotavail > worst->connect_eaddrnotavail)) {
      worst = &d;
    }
  }
  if (worst != nullptr) {
    Finding f{ "connect-eaddrnotavail", Severity::error, {}, {}, {} };
    f.summary = eaddrnotavail_text(*worst, window);
    f.evidence = { { "eaddrnotavail", as_double(worst->connect_eaddrnotavail) },
                   { "connect_ok", as_double(worst->connect_ok) },
                   { "window_seconds", window },
                   { "eaddrnotavail_total", as_double(e.total_eaddrnotavail()) },
                   { "processes", as_double(worst->processes.size()) } };
    f.rationale = "connect() found no free local port towards that destination (the probe counts the "
                  "errno connect() returned); the program saw \"Cannot assign requested address\"";
    out.push_back(std::move(f));
  }
  if (!e.bind_eaddrinuse.empty()) {
    const SymptomBindFailure& b = e.bind_eaddrinuse.front();
    Finding f{ "bind-eaddrinuse", Severity::error, {}, {}, {} };
    f.summary = "bind() to port 0 failed " + counted(b.count, "time") + " with EADDRINUSE in " +
                number(window) + " s on " + b.local + ", from " + processes_text(b.processes) +
                ": tcp_tw_reuse does not help a client that bind()s before connect()";
    f.evidence = { { "eaddrinuse", as_double(b.count) },
                   { "eaddrinuse_total", as_double(e.total_bind_eaddrinuse()) },
                   { "window_seconds", window },
                   { "processes", as_double(b.processes.size()) } };
    f.rationale = "bind() picks the port itself (inet_csk_get_port) and never takes over a TIME_WAIT port "
                  "without SO_REUSEADDR; only connect() consults tcp_tw_reuse";
    out.push_back(std::move(f));
  }
  if (const SymptomDestination* d = recycled_failing(a); d != nullptr) {
    Finding f{ "recycled-connects-failed", Severity::error, {}, {}, {} };
    f.summary = recycled_failed_text(*d, window);
    f.evidence = { { "recycled", as_double(d->recycled) },
                   { "recycled_failed", as_double(d->recycled_failed) },
                   { "recycled_failed_total", as_double(e.total_recycled_failed()) },
                   { "window_seconds", window } };
    f.rationale = "a reused tuple whose timestamps the peer (or a NAT mixing hosts' tuples) judges old is "
                  "dropped by PAWS; the connect then times out or is reset";
    out.push_back(std::move(f));
  }
  for (const auto& v : a.groups) {
    const SymptomDestination* d = v.symptom;
    if (d == nullptr || !d->connect_us_p99 || *d->connect_us_p99 < k_slow_connect_us ||
        v.in_use_share < k_slow_connect_in_use_share || d->connect_eaddrnotavail > 0) {
      continue;
    }
    Finding f{ "connect-slow", Severity::warning, {}, group_evidence(v), {} };
    f.summary = "connect() towards " + d->destination + " takes " + number(*d->connect_us_p99) +
                " us at p99 (p50 " + number(d->connect_us_p50.value_or(0.0)) + " us) with " +
                percent(v.in_use_share) + " of its ports in use: the port search slows as the range fills, " +
                "before connect() fails";
    f.evidence["connect_us_p50"] = d->connect_us_p50.value_or(0.0);
    f.evidence["connect_us_p99"] = *d->connect_us_p99;
    f.rationale = "connect() walks the ephemeral range for a free port (__inet_hash_connect); the fuller the "
                  "range towards a destination, the longer the walk";
    out.push_back(std::move(f));
    break; // the worst group only (census order)
  }
  if (e.dropped > 0 || e.missed > 0 || e.time_wait_capped) {
    Finding f{ "probe-incomplete", Severity::info, {}, {}, {} };
    std::vector<std::string> parts;
    if (e.dropped > 0) {
      parts.push_back(std::to_string(e.dropped) + " probe events not counted (a map was full)");
    }
    if (e.missed > 0) {
      parts.push_back(std::to_string(e.missed) +
                      " events the kernel did not hand to the probe (it was busy on that CPU)");
    }
    if (e.time_wait_capped) {
      parts.push_back("more tuples entered TIME_WAIT than the probe tracks");
    }
    f.summary = fmt::format("{}", fmt::join(parts, "; ")) + ": the probe's counts are lower bounds";
    f.evidence = { { "dropped", as_double(e.dropped) },
                   { "missed", as_double(e.missed) },
                   { "time_wait_seen", as_double(e.time_wait_seen) } };
    f.rationale =
      "the probe's maps are bounded (doc/probe.md) so it cannot exhaust kernel memory, and the kernel "
      "runs a tracing program at most once per CPU at a time";
    out.push_back(std::move(f));
  }
}

} // namespace

std::vector<Finding> findings(const Analysis& a)
{
  std::vector<Finding> out;
  pressure_findings(a, out);
  timestamp_findings(a, out);
  nat_findings(a, out);
  role_findings(a, out);
  counter_findings(a, out);
  sysctl_findings(a, out);
  intent_findings(a, out);
  symptom_findings(a, out);
  process_findings(a, out);
  history_findings(a, out);
  return out;
}

void settle_told_in(Plan& plan)
{
  // A finding and the prerequisite that states the same numbers when it is not ok.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> k_same{ {
    { "port-range-narrow", "port_range" },
    { "source-nat", "nat" },
    { "timestamps-off", "tcp_timestamps" },
    { "peer-refuses-timestamps", "tcp_timestamps" },
    { "reserved-ports-in-range", "reserved_ports" },
  } };
  for (auto& f : plan.findings) {
    if (f.told_in == k_told_in_reasons && plan.verdict == Verdict::insufficient_evidence) {
      f.told_in.clear();
    }
    // An already-enabled plan's last reason states TWRecycled as this finding does.
    if (f.id == "reuse-happening" && plan.verdict == Verdict::already_enabled) {
      f.told_in = std::string(k_told_in_reasons);
    }
    for (const auto& same : k_same) {
      if (f.id != same.first) {
        continue;
      }
      const auto p =
        std::find_if(plan.prerequisites.begin(), plan.prerequisites.end(), [&](const Prerequisite& q) {
          return q.id == same.second && q.status != PrereqStatus::ok;
        });
      if (p != plan.prerequisites.end()) {
        f.told_in = "prerequisites." + p->id;
      }
    }
  }
}

} // namespace tw::policy
