#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"
#include "model/policy.hpp"
#include "model/profile.hpp"
#include "util/percent.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tw::policy {

// TCP_TIMEWAIT_LEN: a TIME_WAIT socket lasts 60 s, hard-coded (not tcp_fin_timeout).
inline constexpr std::int64_t k_time_wait_ms = 60000;
// connect() slower than this at p99 towards a destination whose ports are this full is the early
// warning that the port search is growing (measured by the probe).
inline constexpr double k_slow_connect_us = 1000.0;
inline constexpr double k_slow_connect_in_use_share = 0.5;
// The kernel default of net.ipv4.tcp_tw_reuse_delay (6.14+), and about the fixed wait before it.
inline constexpr std::int64_t k_default_reuse_delay_ms = 1000;

// A destination group with its shares worked out against the thresholds.
struct GroupView
{
  const DestGroup* group = nullptr;
  std::uint64_t usable = 0;
  double time_wait_share = 0.0; // time_wait / usable
  double in_use_share = 0.0;    // in_use / usable
  bool exhausted = false;       // in_use_share >= policy exhaustion
  bool pressured = false;       // tw_reuse would free a meaningful part of the range
  bool covered = false;         // the current tcp_tw_reuse applies to this group
  // covered, and reuse can work as things are (timestamps on, a delay that leaves time): connect()
  // takes over this group's TIME_WAIT ports rather than failing with EADDRNOTAVAIL
  bool reuse_works = false;
  // What the evidence probe saw towards this destination (nullptr: no probe, or no connect()).
  const SymptomDestination* symptom = nullptr;
  // Pressured, but the probe saw bind() to port 0 fail with EADDRINUSE on this group's local
  // address and no connect() fail: the client takes its port in bind(), where tcp_tw_reuse never
  // applies. Such a group is left out of `pressured`.
  bool bind_driven = false;
};

// What the live outbound connections of one pressured group say about its peer and timestamps.
enum class PeerTimestamps
{
  agreed,  // a sample of at least min_timestamp_sample, above peer_refusal_share negotiated
  refused, // a sample of at least min_timestamp_sample, at most peer_refusal_share negotiated
  unknown, // fewer live outbound connections than the sample needs (often none: close-first churn)
};

// Everything the engine derives from the facts once, shared by the verdict, the prerequisites,
// the findings and the advice.
struct Analysis
{
  // Binds the inputs; analyse() fills in the rest.
  Analysis(const Facts& f, const Profile& pr, const Policy& po)
    : facts(f)
    , profile(pr)
    , policy(po)
  {
  }

  const Facts& facts;
  const Profile& profile;
  const Policy& policy;
  double time_wait_pressure = 0.5; // the threshold: the profile's override, else the policy's

  std::optional<std::int64_t> tw_reuse;   // nullopt when unreadable
  std::optional<std::int64_t> timestamps; // nullopt when unreadable
  std::optional<PortRange> port_range;    // from the sysctl, else the census
  std::optional<std::vector<PortRange>> reserved;
  std::uint64_t reserved_in_range = 0; // reserved ports inside the range (range less census usable)
  bool reserved_counted = false;       // reserved_in_range is known (the census counted usable ports)
  std::uint64_t usable_ports = 0;      // range less reserved ports
  std::uint64_t time_wait_total = 0;   // TIME_WAIT sockets in the dump (both families)

  // How long after close a TIME_WAIT port becomes reusable: tcp_tw_reuse_delay, or about 1 s
  // before 6.14 (absent); nullopt when unreadable.
  std::optional<std::int64_t> reuse_delay_ms;
  bool delay_absent = false;  // no tcp_tw_reuse_delay (kernel before 6.14)
  bool delay_useless = false; // reuse_delay_ms >= 60 s: reuse would start as the socket expires anyway
  bool delay_fixable = false; // delay_useless, and the policy lets the plan set the kernel default
  // The delay in force once the plan's own changes are applied (the fix, when the plan makes it).
  std::optional<std::int64_t> planned_delay_ms;

  std::vector<GroupView> groups;                        // census groups in census order
  bool probed = false;                                  // the evidence probe watched a window
  std::vector<const GroupView*> pressured;              // the groups under pressure, worst first
  std::vector<const GroupView*> bind_driven;            // pressured by bind() clients (not in pressured)
  std::vector<const SymptomBindFailure*> bind_failures; // the probe's bind() failures behind them
  std::vector<const GroupView*> uncovered;              // pressured groups the current tw_reuse misses
  const GroupView* busiest = nullptr;                   // the group with the largest TIME_WAIT share
  // Peer agreement per pressured group (judged only when this host offers timestamps).
  std::vector<const GroupView*> peer_refused; // pressured groups whose peer refuses timestamps
  std::vector<const GroupView*> peer_unknown; // pressured groups without a large enough live sample
  std::vector<const GroupView*> peer_agreed;  // pressured groups whose peer agreed

  bool nat_evidence = false; // SNAT rules or SNAT conntrack entries seen
  bool nat_readable = false; // at least one NAT source could be read
  bool nat_possible = false; // nat_evidence, or NAT could not be read at all: canary first either way

  std::vector<std::string> missing; // what could not be read, for insufficient-evidence
};

// Works out the Analysis from the inputs.
Analysis analyse(const Facts& facts, const Profile& profile, const Policy& policy);

// "a.b.c: denied (Permission denied)" style text for an unreadable sysctl, or "not read".
std::string unreadable_text(const Sysctls& sysctls, const std::string& key);

// "198.18.0.1 -> 198.18.0.2:8080" ("[fd00::1]:8080" for IPv6), with " (AF_INET6 sockets, v4-mapped)"
// when the group's sockets are IPv4-mapped AF_INET6 ones.
std::string group_name(const DestGroup& group);

// What the live sample of a group says about its peer, under the policy's thresholds.
PeerTimestamps peer_timestamps(const DestGroup& group, const Policy& policy);

// "0 of 20 live outbound connections to X negotiated timestamps (0%)".
std::string peer_sample_text(const DestGroup& group);

// The fewest live outbound connections that judge a peer (min_timestamp_sample, at least 1).
std::uint64_t timestamp_sample(const Policy& policy);

// "1000 ms after close (net.ipv4.tcp_tw_reuse_delay)", or the pre-6.14 "about 1 s" when absent.
std::string reuse_delay_text(const Sysctls& sysctls);

// The share of a TIME_WAIT socket's 60 s during which connect() may take its port over, for a
// reuse delay in ms: (60 s - delay) / 60 s, 0 when the delay is as long as TIME_WAIT.
double reusable_share(std::int64_t delay_ms);

// "with tcp_tw_reuse_delay 1000 ms, 98% of each socket's 60 s is reusable: about 983 of the 1000
// TIME_WAIT ports there at a time" for a group's TIME_WAIT count under the planned delay; empty
// when the delay is unknown.
std::string relief_text(const Analysis& a, std::uint64_t time_wait);

// "212 connect() calls failed with EADDRNOTAVAIL in 5 s towards 198.18.62.1:8080, all from pid
// 4242 (api-worker)" for a destination the probe saw fail.
std::string eaddrnotavail_text(const SymptomDestination& d, double window_seconds);

// The destination with the most connects that reused a TIME_WAIT tuple and then failed before
// ESTABLISHED (the PAWS/SNAT danger, measured), or nullptr.
const SymptomDestination* recycled_failing(const Analysis& a);

// "9 of 40 connects that reused a TIME_WAIT tuple towards 198.18.0.1:80 failed before ESTABLISHED
// in 5 s: the peer, or a NAT in between, drops reused tuples (PAWS)".
std::string recycled_failed_text(const SymptomDestination& d, double window_seconds);

// "pid 4242 (api-worker)", "pids 4242 (api-worker), 4250 (curl) and 3 more".
std::string processes_text(const std::vector<SymptomProcess>& processes);

// A count as a double, for evidence maps.
inline double as_double(std::uint64_t n)
{
  return static_cast<double>(n);
}

// A number without a trailing ".0": "470", "12.5".
std::string number(double value);

// The prerequisites, in a stable order.
std::vector<Prerequisite> prerequisites(const Analysis& a);

// The findings, in a stable order.
std::vector<Finding> findings(const Analysis& a);

// Settles Finding::told_in once the plan is whole: a finding points to the failing prerequisite
// that states its numbers, and loses its pointer to the reasons where they were replaced (an
// insufficient-evidence plan says only what is missing).
void settle_told_in(Plan& plan);

// The advice beyond sysctls, most useful first; verdict shapes which apply.
std::vector<Advice> advice(const Analysis& a, Verdict verdict);

} // namespace tw::policy
