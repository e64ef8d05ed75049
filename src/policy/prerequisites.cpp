// The prerequisites of net.ipv4.tcp_tw_reuse, each ok / warning / error with the numbers behind it.
#include "policy/analysis.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <string>

namespace tw::policy {

namespace {

Prerequisite timestamps_prerequisite(const Analysis& a)
{
  Prerequisite p{ "tcp_timestamps", PrereqStatus::ok, {} };
  if (!a.timestamps) {
    p.status = PrereqStatus::warning;
    p.detail = unreadable_text(a.facts.sysctls, k_timestamps) +
               ": cannot tell whether TIME_WAIT sockets carry timestamps";
    return p;
  }
  if (*a.timestamps == 0) {
    p.status = PrereqStatus::error;
    p.detail = "net.ipv4.tcp_timestamps = 0: no connection carries timestamps, so no TIME_WAIT port can "
               "be reused and tcp_tw_reuse is a no-op";
    if (a.policy.propose_prerequisite_fixes.value && a.policy.allows(k_timestamps, "1")) {
      p.detail += " (the plan sets it to 1 first)";
    } else {
      p.detail += " (policy " + a.policy.id + " does not allow setting it to 1)";
    }
    return p;
  }
  const std::string sysctl = "net.ipv4.tcp_timestamps = " + std::to_string(*a.timestamps);
  const std::uint64_t sample = timestamp_sample(a.policy);

  // The peer's agreement is per destination: judge the pressured groups, not the host.
  if (!a.pressured.empty()) {
    if (!a.peer_refused.empty()) {
      const GroupView& g = *a.peer_refused.front();
      const bool all = a.peer_refused.size() == a.pressured.size();
      p.status = all ? PrereqStatus::error : PrereqStatus::warning;
      p.detail = sysctl + ", but the peer refuses them: only " + peer_sample_text(*g.group) +
                 ", at most the policy's " + percent(a.policy.peer_refusal_share.value) +
                 ": its TIME_WAIT ports are never reused, and no sysctl here fixes a peer";
      if (a.peer_refused.size() > 1) {
        p.detail += " (" + counted(a.peer_refused.size() - 1, "more pressured group") + " alike)";
      }
      if (!all) {
        p.detail += "; " + counted(a.pressured.size() - a.peer_refused.size(), "other pressured group") +
                    " can still be helped";
      }
      return p;
    }
    if (!a.peer_unknown.empty()) {
      const GroupView& g = *a.peer_unknown.front();
      p.status = PrereqStatus::warning;
      p.detail = sysctl + "; the peer's agreement is unknown for " + group_name(*g.group) + ": " +
                 std::to_string(g.group->outbound_established) +
                 " live outbound connections there (the policy needs " + std::to_string(sample) +
                 "); TIME_WAIT of connections whose peer refused timestamps is never reused";
      if (a.peer_unknown.size() > 1) {
        p.detail += " (" + counted(a.peer_unknown.size() - 1, "more pressured group") + " unmeasured)";
      }
      return p;
    }
    const GroupView& g = *a.peer_agreed.front();
    p.detail = sysctl + "; " + peer_sample_text(*g.group);
    const double share = static_cast<double>(g.group->with_timestamps) /
                         static_cast<double>(std::max<std::uint64_t>(1, g.group->outbound_established));
    if (share < a.policy.min_timestamp_share.value) {
      p.status = PrereqStatus::warning;
      p.detail += ", below the policy minimum " + percent(a.policy.min_timestamp_share.value) +
                  ": only ports of connections whose peer agreed can be reused";
    }
    return p;
  }

  const TimestampShare& ts = a.facts.sockets.timestamps;
  const auto share = ts.share();
  if (!a.facts.sockets.available || !share) {
    p.detail = sysctl + "; no live outbound connection to measure how many peers agree";
    return p;
  }
  const std::string measured = std::to_string(ts.with_timestamps) + " of " +
                               std::to_string(ts.outbound_established) +
                               " live outbound connections negotiated timestamps (" + percent(*share) + ")";
  if (ts.outbound_established < sample) {
    p.detail = sysctl + "; " + measured + ": too few to judge peer agreement (policy needs " +
               std::to_string(sample) + ")";
    return p;
  }
  if (*share < a.policy.min_timestamp_share.value) {
    p.status = PrereqStatus::warning;
    p.detail = sysctl + "; only " + measured + ", below the policy minimum " +
               percent(a.policy.min_timestamp_share.value) +
               ": tw_reuse can reuse only ports of connections whose peer agreed";
    return p;
  }
  p.detail = sysctl + "; " + measured;
  return p;
}

Prerequisite nat_prerequisite(const Analysis& a)
{
  const NatEvidence& n = a.facts.nat;
  Prerequisite p{ "nat", PrereqStatus::ok, {} };
  if (a.nat_evidence) {
    p.status = PrereqStatus::warning;
    std::string what = "source NAT here:";
    if (!n.nat_rules.empty()) {
      what += " " + counted(n.nat_rules.size(), "rule") + " (" + n.nat_rules.front() +
              (n.nat_rules.size() > 1 ? ", ..." : "") + ")";
    }
    if (n.conntrack_available) {
      what += (n.nat_rules.empty() ? " " : ", ") + std::to_string(n.snat_entries) +
              " SNAT conntrack entries of " + std::to_string(n.entries_scanned) + (n.cap_hit ? "+" : "") +
              " scanned";
    }
    if (n.random_fully) {
      what += "; random-fully port mapping makes colliding outer tuples likelier";
    }
    p.detail = what + ": a reused tuple can reach the peer with a lower timestamp and be dropped by PAWS; "
                      "apply with --canary and watch PAWS and SYN retransmission counters";
    return p;
  }
  if (!a.nat_readable) {
    p.status = PrereqStatus::warning;
    p.detail = "NAT could not be read (" +
               (n.nat_rules_note.empty() ? std::string("rules unreadable") : n.nat_rules_note) + "; " +
               (n.conntrack_note.empty() ? std::string("conntrack unreadable") : n.conntrack_note) +
               "): treat as possible source NAT and canary first";
    return p;
  }
  std::string detail = "no source NAT seen:";
  if (n.nat_rules_present) {
    detail += " no SNAT/MASQUERADE rule";
  } else {
    detail +=
      " rules unreadable" + (n.nat_rules_note.empty() ? std::string() : " (" + n.nat_rules_note + ")");
  }
  if (n.conntrack_available) {
    detail += ", 0 SNAT entries of " + std::to_string(n.entries_scanned) + " conntrack entries";
  } else {
    detail +=
      ", conntrack not readable" + (n.conntrack_note.empty() ? std::string() : " (" + n.conntrack_note + ")");
  }
  p.detail = detail;
  return p;
}

Prerequisite delay_prerequisite(const Analysis& a)
{
  Prerequisite p{ "tw_reuse_delay", PrereqStatus::ok, {} };
  const std::string key = k_tw_reuse_delay;
  const SysctlValue* v = a.facts.sysctls.find(key);
  if (v != nullptr && v->status == ReadStatus::absent) {
    p.detail = key + " absent (kernel before 6.14): a TIME_WAIT port becomes reusable about 1 s after the "
                     "peer's last timestamp";
    return p;
  }
  const auto delay = a.facts.sysctls.get_int(key);
  if (!delay) {
    p.status = PrereqStatus::warning;
    p.detail =
      unreadable_text(a.facts.sysctls, key) + ": how soon a TIME_WAIT port becomes reusable is unknown";
    return p;
  }
  if (a.delay_useless) {
    // The kernel checks the delay against the socket's entry into TIME_WAIT; the timer ends the
    // socket at 60 s, so a delay that long leaves tcp_tw_reuse nothing to take over.
    p.status = PrereqStatus::error;
    p.detail = key + " = " + std::to_string(*delay) +
               " ms: a TIME_WAIT port would become reusable only as its socket expires, so no part of the "
               "60 s TIME_WAIT is reusable and tcp_tw_reuse frees nothing";
    const std::string target = std::to_string(k_default_reuse_delay_ms);
    if (a.delay_fixable) {
      // Without pressure the plan proposes nothing, so it only says what a plan would do.
      p.detail += a.pressured.empty() ? " (policy " + a.policy.id + " lets a plan set it to " + target + ")"
                                      : " (the plan sets it to " + target + " first)";
    } else if (!a.policy.propose_prerequisite_fixes.value) {
      p.detail += " (policy " + a.policy.id + " does not propose prerequisite fixes)";
    } else {
      p.detail += " (policy " + a.policy.id + " does not allow setting it to " + target + ")";
    }
    return p;
  }
  p.detail =
    key + " = " + std::to_string(*delay) + " ms: a TIME_WAIT port becomes reusable that long after close";
  if (*delay >= a.policy.slow_tw_reuse_delay_ms.value) {
    p.status = PrereqStatus::warning;
    p.detail += "; of the 60 s TIME_WAIT, only " +
                number(std::max(0.0, 60.0 - static_cast<double>(*delay) / 1000.0)) + " s is reusable";
  }
  return p;
}

Prerequisite port_range_prerequisite(const Analysis& a)
{
  Prerequisite p{ "port_range", PrereqStatus::ok, {} };
  const std::string key = k_port_range;
  if (!a.port_range) {
    p.status = PrereqStatus::warning;
    p.detail = unreadable_text(a.facts.sysctls, key);
    return p;
  }
  const PortRange r = *a.port_range;
  const std::string text = key + " = " + std::to_string(r.low) + " " + std::to_string(r.high);
  if (r.size() == 0) {
    p.status = PrereqStatus::error;
    p.detail = text + ": inverted, connect() has no port to pick";
    return p;
  }
  p.detail = text + ": " + std::to_string(r.size()) + " ports";
  if (static_cast<std::int64_t>(r.size()) < a.policy.narrow_port_range.value) {
    p.status = PrereqStatus::warning;
    p.detail += ", narrower than " + std::to_string(a.policy.narrow_port_range.value) +
                " (kernel default 32768 60999 = 28232): widening it (never narrowing) adds capacity too";
  }
  if (r.low < 1024) {
    p.status = PrereqStatus::warning;
    p.detail += "; starts below 1024, so clients can take ports services expect to bind";
  }
  return p;
}

Prerequisite reserved_prerequisite(const Analysis& a)
{
  Prerequisite p{ "reserved_ports", PrereqStatus::ok, {} };
  const std::string key = k_reserved_ports;
  if (!a.reserved) {
    p.status = PrereqStatus::warning;
    p.detail = unreadable_text(a.facts.sysctls, key) + ": usable ports may be overstated";
    return p;
  }
  if (!a.port_range) {
    p.detail = key + ": " + counted(a.reserved->size(), "range") + " reserved; port range unknown";
    return p;
  }
  if (!a.reserved_counted) {
    p.detail = key + ": " + counted(a.reserved->size(), "range") +
               " reserved; how many fall in the ephemeral range is unknown without the socket census";
    return p;
  }
  const std::uint64_t size = a.port_range->size();
  const double share = size == 0 ? 0.0 : static_cast<double>(a.reserved_in_range) / static_cast<double>(size);
  p.detail = key + ": " + std::to_string(a.reserved_in_range) + " of " + std::to_string(size) +
             " ports in the ephemeral range reserved (" + percent(share) + "); " +
             std::to_string(a.usable_ports) + " usable";
  if (size > 0 && share >= a.policy.reserved_share.value) {
    p.status = PrereqStatus::warning;
    p.detail += ": connect() never picks reserved ports, so they shrink every destination's capacity";
  }
  return p;
}

} // namespace

std::vector<Prerequisite> prerequisites(const Analysis& a)
{
  return { timestamps_prerequisite(a),
           nat_prerequisite(a),
           delay_prerequisite(a),
           port_range_prerequisite(a),
           reserved_prerequisite(a) };
}

} // namespace tw::policy
