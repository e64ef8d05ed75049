#pragma once

#include "model/processes.hpp"
#include "model/sysctl.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// TCP states with the kernel's numbering (include/net/tcp_states.h).
enum class TcpState : std::uint8_t
{
  established = 1,
  syn_sent = 2,
  syn_recv = 3,
  fin_wait1 = 4,
  fin_wait2 = 5,
  time_wait = 6,
  close = 7,
  close_wait = 8,
  last_ack = 9,
  listen = 10,
  closing = 11,
  new_syn_recv = 12,
};

inline constexpr std::size_t k_tcp_state_slots = 13; // index 0 unused

// Lower-case state name as `ss` prints it ("time-wait", "established", ...); "unknown" otherwise.
const char* tcp_state_name(std::size_t state);

// Who created the TIME_WAIT sockets, by the rules in KERNEL-NOTES.md.
struct TimeWaitRoles
{
  std::uint64_t outbound = 0; // we called connect(): tw_reuse can matter
  std::uint64_t inbound = 0;  // we accepted: tw_reuse never applies
  std::uint64_t unknown = 0;  // the evidence does not tell (loopback both ends, ambiguous ports)
  // Of unknown: the local port is one connect() would not pick today (outside ip_local_port_range,
  // or reserved) and nothing listens on it: the range changed within the last 60 s, a listener
  // has gone, or a client bind()s fixed ports. Never inbound without a listener to show it.
  std::uint64_t outside_range = 0;
};

// One destination group: (local address, remote address, remote port) of outbound sockets.
struct DestGroup
{
  int family = 0;     // AF_INET or AF_INET6 (IPv4-mapped addresses normalised to AF_INET)
  std::string local;  // local address, printed
  std::string remote; // remote address, printed
  std::uint16_t remote_port = 0;
  std::uint64_t in_use = 0;    // ephemeral local ports held (TIME_WAIT plus live states)
  std::uint64_t time_wait = 0; // of which in TIME_WAIT
  std::uint64_t usable = 0;    // ports connect() may pick: the range less reserved ports
  double pressure = 0.0;       // in_use / usable, 0..1 (capped at 1)
  bool loopback = false;       // 127/8, ::1, ::ffff:127.x or bound to lo: tw_reuse=2 covers it
  // Live outbound ESTABLISHED sockets of this group with tcp_info, and how many of them
  // negotiated timestamps: the peer's agreement is per destination, not per host.
  std::uint64_t outbound_established = 0;
  std::uint64_t with_timestamps = 0;
  // Of in_use, the AF_INET6 sockets with IPv4-mapped addresses (::ffff:a.b.c.d) folded into this
  // IPv4 group: only the AF_INET6 dump sees them, whatever the printed address says.
  std::uint64_t v4_mapped = 0;
  // Set when the counts above are this group's peak in the monitor's history rather than the live
  // census (plan --since): when that peak was. Never in a census, only in the one a plan judges.
  std::optional<double> peak_at_unix;

  friend bool operator==(const DestGroup&, const DestGroup&) = default;
};

// "198.18.0.1:8080", or "[fd00::1]:8080" for AF_INET6: an address and port as ss prints them.
std::string endpoint_text(int family, const std::string& address, unsigned port);

// " (AF_INET6 sockets, v4-mapped)" or " (12 of 30 sockets AF_INET6, v4-mapped)" for a group holding
// IPv4-mapped AF_INET6 sockets; empty for a group without any.
std::string v4_mapped_note(const DestGroup& group);

// How many live outbound connections negotiated TCP timestamps (tcpi_options).
struct TimestampShare
{
  std::uint64_t outbound_established = 0; // outbound ESTABLISHED sockets with tcp_info
  std::uint64_t with_timestamps = 0;      // of which TCPI_OPT_TIMESTAMPS was set
  // with_timestamps / outbound_established; nullopt when there were none to look at.
  std::optional<double> share() const;
};

// The socket role mix of one network namespace, aggregated while streaming the dump.
struct SocketCensus
{
  bool available = false; // false when the dump could not be taken
  std::string error;      // why not, when unavailable (errno text, with the step)
  std::array<std::uint64_t, k_tcp_state_slots> states{}; // counts by TcpState value
  std::uint64_t total = 0;                               // sockets seen (both families)
  std::uint64_t listeners = 0;                           // distinct listening ports
  TimeWaitRoles time_wait;
  std::optional<PortRange> port_range; // the ephemeral range used to classify
  std::uint64_t usable_ports = 0;      // the range less reserved ports
  std::vector<DestGroup> groups;       // the top groups, highest pressure first
  std::uint64_t group_count = 0;       // all groups seen (groups holds at most the top ones)
  bool groups_truncated = false;       // the group table hit its cap; the rest were folded
  TimestampShare timestamps;
  std::vector<std::string> notes; // caveats an operator should know (ambiguity, caps)
  ProcessAttribution processes;   // who holds the live connections that matter
};

// The destination group with the highest pressure (the first of equals), or nullptr when the
// census has none: what a one-line summary of a namespace shows.
const DestGroup* most_pressured(const SocketCensus& census);

} // namespace tw
