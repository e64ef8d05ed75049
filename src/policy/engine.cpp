// The verdict, the reasons and the ordered changes: the rules of issue 3 and KERNEL-NOTES.md.
#include "policy/engine.hpp"

#include "policy/analysis.hpp"
#include "policy/boot.hpp"
#include "policy/history.hpp"
#include "util/strings.hpp"

#include <string>

namespace tw {

namespace {

using policy::Analysis;
using policy::eaddrnotavail_text;
using policy::group_name;
using policy::GroupView;
using policy::k_default_reuse_delay_ms;
using policy::number;
using policy::processes_text;
using policy::recycled_failed_text;
using policy::recycled_failing;

std::string tw_reuse_meaning(std::int64_t v)
{
  switch (v) {
    case 0:
      return "off";
    case 1:
      return "on for all traffic";
    case 2:
      return "on for loopback only";
    default:
      return "not a value the kernel documents";
  }
}

std::string pressure_line(const Analysis& a)
{
  const GroupView& top = *a.pressured.front();
  const std::optional<double> peak = top.group->peak_at_unix;
  std::string line =
    (peak ? "Outbound TIME_WAIT held " : "Outbound TIME_WAIT holds ") + std::to_string(top.group->time_wait) +
    " of " + std::to_string(top.usable) + " usable ports (" + percent(top.time_wait_share) + ") towards " +
    group_name(*top.group) +
    (peak ? " at its peak at " + policy::time_of_day(*peak) + " (the monitor's history)" : "") +
    " (TIME_WAIT pressure threshold " + percent(a.time_wait_pressure) + ")";
  // No counter records EADDRNOTAVAIL, so a full group is an inference from the counts. Where the
  // current tcp_tw_reuse covers the group and can work, connect() takes over its TIME_WAIT ports
  // instead of failing: nothing to infer there.
  const bool measured = top.symptom != nullptr && top.symptom->connect_eaddrnotavail > 0;
  // "1000 of 1000 usable ports ...; with 1000 of 1000 ports in use" says the numbers twice: a full
  // group is "every port".
  const std::string in_use = top.group->in_use >= top.usable ? std::string("every port in use")
                                                             : std::to_string(top.group->in_use) + " of " +
                                                                 std::to_string(top.usable) + " ports in use";
  if (top.exhausted && !top.reuse_works && measured) {
    line += "; with " + in_use + ", connect() there fails with EADDRNOTAVAIL (measured, below)";
  } else if (top.exhausted && !top.reuse_works && a.probed) {
    line += "; with " + in_use + ", though the probe saw no connect() there fail in the window";
  } else if (top.exhausted && !top.reuse_works && top.group->in_use >= top.usable) {
    line += "; with " + in_use +
            ", none is left: connect() there is likely failing with EADDRNOTAVAIL (inferred from the counts; "
            "no counter records it)";
  } else if (top.exhausted && !top.reuse_works) {
    line += "; with " + std::to_string(top.group->in_use) + " ports in use (" +
            std::to_string(top.usable - top.group->in_use) +
            " left), connect() there would fail with EADDRNOTAVAIL once they are taken (inferred from the "
            "counts)";
  }
  if (a.pressured.size() > 1) {
    line += "; " + counted(a.pressured.size() - 1, "more group") + " under TIME_WAIT pressure";
  }
  return line + ".";
}

std::string coverage_line(const Analysis& a)
{
  const std::int64_t v = *a.tw_reuse;
  const std::string head = k_tw_reuse + " = " + std::to_string(v) + " (" + tw_reuse_meaning(v) + ")";
  if (a.uncovered.empty()) {
    if (v == 2) {
      return head + " already covers it: every pressured group is loopback (127/8, ::1 or bound to lo).";
    }
    return head + " already covers it.";
  }
  const GroupView& top = *a.uncovered.front();
  if (v == 2) {
    return head + " does not cover " + group_name(*top.group) +
           ": value 2 reuses only loopback traffic, not the host's other addresses or containers over veth.";
  }
  return head + " does not cover it.";
}

void insufficient(Plan& plan, const std::vector<std::string>& missing)
{
  plan.verdict = Verdict::insufficient_evidence;
  plan.missing = missing;
  std::string line = "Cannot judge: ";
  for (std::size_t i = 0; i < missing.size(); ++i) {
    line += (i > 0 ? "; " : "") + missing[i];
  }
  plan.reasons = { line + ".",
                   "Re-run where these can be read: as root, inside the network namespace to be judged." };
  plan.changes.clear();
}

void irrelevant(const Analysis& a, Plan& plan)
{
  plan.verdict = Verdict::irrelevant;
  const SocketCensus& c = a.facts.sockets;
  const TimeWaitRoles& r = c.time_wait;
  const std::uint64_t tw = r.outbound + r.inbound + r.unknown;
  const std::string unknown_clause = std::to_string(r.unknown) + " of " + std::to_string(tw) +
                                     " TIME_WAIT sockets could not be told inbound or outbound";
  // Ports outside the range with no listener are the one cause the census counts apart: say it.
  const std::string outside_clause =
    r.outside_range == 0
      ? std::string()
      : std::to_string(r.outside_range) +
          " of them on a local port outside the current ip_local_port_range with no "
          "listener: the range changed within the last 60 s, or clients bind() fixed ports";
  const bool unknown_dominates = r.unknown > 0 && r.unknown >= r.inbound + r.outbound;
  if (!a.bind_driven.empty()) {
    // Measured: the client takes its port in bind(), which tcp_tw_reuse never helps.
    const GroupView& g = *a.bind_driven.front();
    const SymptomBindFailure& b = *a.bind_failures.front();
    plan.reasons.push_back(
      "bind() to port 0 failed " + counted(b.count, "time") + " with EADDRINUSE in " +
      number(a.facts.evidence.window_seconds) + " s on " + b.local + ", from " + processes_text(b.processes) +
      ", while " + std::to_string(g.group->time_wait) + " of " + std::to_string(g.usable) +
      " ports towards " + group_name(*g.group) +
      " are in TIME_WAIT and no connect() there failed: the client takes its port in bind().");
    plan.reasons.push_back("tcp_tw_reuse lets only connect() take over a TIME_WAIT port; bind() never does, "
                           "so changing it would not help (see advice: IP_BIND_ADDRESS_NO_PORT).");
    return;
  }
  if (tw == 0) {
    plan.reasons.push_back("No TIME_WAIT sockets in this network namespace (TCP sockets seen: " +
                           std::to_string(c.total) + "): nothing for tcp_tw_reuse to act on.");
  } else if (unknown_dominates) {
    // Lead with what is not known: a verdict over a few classified sockets must not hide the rest.
    plan.reasons.push_back(unknown_clause +
                           (outside_clause.empty() ? " (loopback both ends, a service listening inside the "
                                                     "ephemeral range, or bind()-ing clients)"
                                                   : " (" + outside_clause + ")") +
                           "; of the rest, " + std::to_string(r.outbound) + " outbound and " +
                           std::to_string(r.inbound) +
                           " inbound, and no destination group shows TIME_WAIT pressure.");
  } else if (r.outbound == 0 && r.inbound > 0) {
    plan.reasons.push_back(
      "All " + std::to_string(r.inbound) +
      " classified TIME_WAIT sockets are inbound (this host accepted and closed first; " +
      std::to_string(r.unknown) + " unknown): tcp_tw_reuse does nothing for accepted connections.");
  } else if (r.outbound == 0) {
    plan.reasons.push_back(
      "None of the " + std::to_string(tw) +
      " TIME_WAIT sockets is known to be outbound, and no destination group shows TIME_WAIT "
      "pressure.");
  } else if (a.busiest != nullptr) {
    const GroupView& b = *a.busiest;
    plan.reasons.push_back("Outbound TIME_WAIT (" + counted(r.outbound, "socket") + ", " +
                           counted(c.group_count, "destination group") + ") peaks at " +
                           std::to_string(b.group->time_wait) + " of " + std::to_string(b.usable) +
                           " usable ports (" + percent(b.time_wait_share) + ") towards " +
                           group_name(*b.group) + ", below the " + percent(a.time_wait_pressure) +
                           " threshold: no TIME_WAIT pressure.");
  } else {
    plan.reasons.push_back(counted(r.outbound, "outbound TIME_WAIT socket") +
                           ", but no destination group shows TIME_WAIT pressure.");
  }
  for (const auto& v : a.groups) {
    if (v.exhausted) {
      plan.reasons.push_back("Ports towards " + group_name(*v.group) + " are nearly exhausted by " +
                             std::to_string(v.group->in_use - v.group->time_wait) +
                             " live connections (only " + std::to_string(v.group->time_wait) +
                             " in TIME_WAIT): tcp_tw_reuse cannot free those.");
      break;
    }
  }
  if (r.outbound > 0 && r.inbound > 0 && !unknown_dominates && plan.reasons.size() < 3) {
    plan.reasons.push_back("The other " + std::to_string(r.inbound) +
                           " TIME_WAIT sockets are inbound, which tcp_tw_reuse never touches.");
  }
  if (r.unknown > 0 && !unknown_dominates && r.outbound > 0) {
    plan.reasons.push_back(unknown_clause + (outside_clause.empty() ? "" : " (" + outside_clause + ")") +
                           " and are left out of the TIME_WAIT pressure.");
  }
  if (a.tw_reuse && plan.reasons.size() < 3) {
    plan.reasons.push_back(k_tw_reuse + " = " + std::to_string(*a.tw_reuse) + " (" +
                           tw_reuse_meaning(*a.tw_reuse) +
                           "): changing it would make no difference here today.");
  }
}

// "60000 ms leaves no part of the 60 s TIME_WAIT reusable" for a delay as long as TIME_WAIT.
std::string useless_delay_text(const Analysis& a)
{
  return k_tw_reuse_delay + " = " + std::to_string(*a.reuse_delay_ms) +
         " ms leaves no part of the 60 s TIME_WAIT reusable";
}

// When connect() may take over a TIME_WAIT port once the plan's changes are in.
std::string planned_delay_text(const Analysis& a)
{
  if (a.delay_fixable) {
    return std::to_string(k_default_reuse_delay_ms) + " ms after close (" + k_tw_reuse_delay +
           ", as the plan sets it)";
  }
  return policy::reuse_delay_text(a.facts.sysctls);
}

void would_help(const Analysis& a, Plan& plan)
{
  const bool ts_off = *a.timestamps == 0;
  const bool delay_off = a.delay_useless;
  const bool need_tw = !a.uncovered.empty();
  const Policy& po = a.policy;
  std::vector<std::string> blockers;

  plan.reasons.push_back(pressure_line(a));
  // The symptom itself, when the probe measured it: it confirms the inference with numbers.
  for (const auto* v : a.pressured) {
    if (v->symptom != nullptr && v->symptom->connect_eaddrnotavail > 0) {
      plan.reasons.push_back("Measured: " + eaddrnotavail_text(*v->symptom, a.facts.evidence.window_seconds) +
                             ".");
      break;
    }
  }
  std::string coverage = coverage_line(a);
  if (!need_tw && (ts_off || delay_off)) {
    coverage.pop_back();
    coverage += ", but " + (ts_off ? k_timestamps + " = 0 makes it a no-op" : std::string()) +
                (ts_off && delay_off ? " and " : "") + (delay_off ? useless_delay_text(a) : std::string()) +
                ".";
  }
  plan.reasons.push_back(coverage);

  if (ts_off) {
    const bool may_fix = po.propose_prerequisite_fixes.value && po.allows(k_timestamps, "1");
    if (may_fix) {
      plan.changes.push_back(
        { k_timestamps,
          a.facts.sysctls.get(k_timestamps).value_or("0"),
          "1",
          "prerequisite: tcp_tw_reuse reuses only TIME_WAIT sockets whose connection carried "
          "timestamps; 0 makes it a no-op. The TIME_WAIT already there carries none and is never "
          "reused: relief comes as it expires, within 60 s" });
    } else {
      blockers.push_back(k_timestamps + " = 0 makes tcp_tw_reuse a no-op and policy " + po.id +
                         (po.propose_prerequisite_fixes.value ? " does not allow setting it to 1"
                                                              : " does not propose prerequisite fixes "
                                                                "(propose_prerequisite_fixes: false)"));
    }
  }
  if (delay_off) {
    const std::string target = std::to_string(k_default_reuse_delay_ms);
    if (a.delay_fixable) {
      plan.changes.push_back(
        { k_tw_reuse_delay,
          a.facts.sysctls.get(k_tw_reuse_delay).value_or(std::to_string(*a.reuse_delay_ms)),
          target,
          "prerequisite: a TIME_WAIT port becomes reusable this long after close and "
          "TIME_WAIT lasts 60 s, so " +
            std::to_string(*a.reuse_delay_ms) + " ms leaves tcp_tw_reuse nothing; " + target +
            " ms is the kernel default" });
    } else {
      blockers.push_back(useless_delay_text(a) + ", making tcp_tw_reuse a no-op, and policy " + po.id +
                         (po.propose_prerequisite_fixes.value
                            ? " does not allow setting it to " + target
                            : " does not propose prerequisite fixes (propose_prerequisite_fixes: false)"));
    }
  }
  if (need_tw) {
    const Guardrail* g = po.guardrail_for(k_tw_reuse);
    Prerequisite p{ "policy", PrereqStatus::ok, {} };
    if (g != nullptr && g->allows("1")) {
      p.detail = "policy " + po.id + " allows " + k_tw_reuse + " = 1 (rule " + g->id + ": " +
                 std::to_string(g->min) + ".." + std::to_string(g->max) + ")";
      const GroupView& top = *a.uncovered.front();
      const std::string current = a.facts.sysctls.get(k_tw_reuse).value_or(std::to_string(*a.tw_reuse));
      std::string reason =
        *a.tw_reuse == 2 ? "2 reuses only loopback traffic; " + group_name(*top.group) + " is not loopback"
                         : "let connect() take over TIME_WAIT ports";
      // What reuse frees there, not the pressure again (Why has it). With timestamps off the
      // TIME_WAIT there is never reused (the timestamps reason says so): only the count is left.
      const std::string relief = ts_off ? std::string() : policy::relief_text(a, top.group->time_wait);
      reason += " (" +
                (relief.empty() ? std::to_string(top.group->time_wait) + " of " + std::to_string(top.usable) +
                                    " ports in TIME_WAIT there"
                                : relief) +
                ")";
      plan.changes.push_back({ k_tw_reuse, current, "1", reason });
    } else {
      p.status = PrereqStatus::error;
      p.detail = "policy " + po.id + " does not allow " + k_tw_reuse + " = 1" +
                 (g == nullptr ? " (no guardrail for the key)"
                               : " (rule " + g->id + ": " + std::to_string(g->min) + ".." +
                                   std::to_string(g->max) + ")");
      blockers.push_back(p.detail);
    }
    plan.prerequisites.push_back(p);
  }
  for (const auto& p : plan.prerequisites) {
    // tcp_timestamps = 0 on this host is fixable (above); a failing peer is not.
    const bool host_timestamps_off = p.id == "tcp_timestamps" && ts_off;
    const bool delay_handled = p.id == "tw_reuse_delay" && delay_off; // fixed or blocked above
    if (p.status == PrereqStatus::error && !host_timestamps_off && !delay_handled && p.id != "policy") {
      blockers.push_back(p.id + ": " + p.detail);
    }
  }

  if (!blockers.empty()) {
    plan.verdict = Verdict::blocked;
    plan.changes.clear();
    std::string line = "Blocked: ";
    for (std::size_t i = 0; i < blockers.size(); ++i) {
      line += (i > 0 ? "; " : "") + blockers[i];
    }
    plan.reasons.push_back(line + ".");
    return;
  }
  if (plan.changes.empty()) {
    plan.verdict = Verdict::already_enabled;
    if (const SymptomDestination* d = recycled_failing(a); d != nullptr) {
      plan.reasons.push_back("Measured: " + recycled_failed_text(*d, a.facts.evidence.window_seconds) + ".");
    }
    std::string line = "Pressure remains: the lasting fix is the connection model (see advice)";
    if (const auto recycled = a.facts.counters.get("TcpExt.TWRecycled")) {
      // Cumulative: only a sample's rate says whether reuse happens now (finding reuse-happening).
      const auto rate = a.facts.rates ? a.facts.rates->rate("TcpExt.TWRecycled") : std::nullopt;
      if (*recycled == 0) {
        line += "; TcpExt.TWRecycled = 0 shows no reuse yet";
      } else if (rate) {
        line += *rate > 0 ? "; TcpExt.TWRecycled rising " + number(*rate) + "/s shows reuse happening"
                          : "; TcpExt.TWRecycled did not rise during the sample: no reuse now";
      } else {
        line += "; TcpExt.TWRecycled = " + std::to_string(*recycled) +
                " shows reuse has happened since the namespace was created (plan --sample N: now)";
      }
    }
    plan.reasons.push_back(line + ".");
    return;
  }
  plan.verdict = Verdict::helps;
  if (ts_off) {
    plan.reasons.push_back(
      k_timestamps +
      " = 0 makes tcp_tw_reuse a no-op: the plan turns timestamps on first. The TIME_WAIT "
      "sockets already there were made without timestamps (tw_ts_recent_stamp = 0) and are "
      "never reused: relief comes only as they expire, within 60 s; new ones become "
      "reusable " +
      planned_delay_text(a) + ".");
  }
  if (delay_off) {
    plan.reasons.push_back(useless_delay_text(a) +
                           ": reuse would start only as each socket expires anyway, so the plan sets it to " +
                           std::to_string(k_default_reuse_delay_ms) + " ms (the kernel default) first.");
  }
  if (ts_off) {
    return; // the timestamps line above says what matters most
  }
  if (const SymptomDestination* d = recycled_failing(a); d != nullptr) {
    plan.reasons.push_back("Measured: " + recycled_failed_text(*d, a.facts.evidence.window_seconds) +
                           "; apply with --canary.");
  } else if (a.nat_possible) {
    plan.reasons.push_back(a.nat_evidence
                             ? "Source NAT is in the path: reused tuples can be dropped by the peer's PAWS "
                               "check; apply with --canary."
                             : "NAT could not be read: treat it as possible source NAT (reused tuples can be "
                               "dropped by the peer's PAWS check); apply with --canary.");
  } else if (const Prerequisite* ts = plan.prerequisite("tcp_timestamps");
             ts && ts->status == PrereqStatus::warning) {
    plan.reasons.push_back("Caveat: " + ts->detail + ".");
  } else if (!delay_off) {
    plan.reasons.push_back("Timestamps are on (" + k_timestamps + " = " + std::to_string(*a.timestamps) +
                           "), so connect() can take over a TIME_WAIT port " + planned_delay_text(a) + ".");
  }
}

} // namespace

Plan make_plan(const Facts& live, const Profile& profile, const Policy& policy)
{
  // plan --since: the census judged holds each group at its worst moment in the monitor's history.
  std::optional<Facts> with_peaks;
  if (live.history && live.history->available && !live.history->peaks.empty() && live.sockets.available) {
    with_peaks = live;
    with_peaks->sockets = policy::census_with_peaks(live.sockets, *live.history);
  }
  const Facts& facts = with_peaks ? *with_peaks : live;
  const Analysis a = policy::analyse(facts, profile, policy);
  Plan plan;
  plan.profile_id = profile.id;
  plan.policy_id = policy.id;
  plan.prerequisites = policy::prerequisites(a);
  plan.findings = policy::findings(a);

  if (!a.missing.empty()) {
    insufficient(plan, a.missing);
  } else if (a.pressured.empty()) {
    irrelevant(a, plan);
  } else {
    std::vector<std::string> missing;
    if (!a.tw_reuse) {
      missing.push_back(policy::unreadable_text(facts.sysctls, k_tw_reuse) +
                        ": cannot tell whether it already covers the pressured traffic");
    }
    if (!a.timestamps) {
      missing.push_back(policy::unreadable_text(facts.sysctls, k_timestamps) +
                        ": cannot tell whether tcp_tw_reuse could work");
    }
    if (!missing.empty()) {
      insufficient(plan, missing);
    } else {
      would_help(a, plan);
    }
  }
  plan.advice = policy::advice(a, plan.verdict);
  if (facts.boot) {
    policy::add_boot_findings(*facts.boot, plan);
  }
  if (facts.namespace_boot) {
    policy::add_namespace_boot_findings(*facts.namespace_boot, plan);
  }
  policy::settle_told_in(plan);
  return plan;
}

} // namespace tw
