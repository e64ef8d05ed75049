#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tw {

// Live connections by state, as one process or one destination of it holds them.
struct ConnectionCounts
{
  std::uint64_t established = 0;
  std::uint64_t syn_sent = 0;
  std::uint64_t close_wait = 0;

  std::uint64_t total() const { return established + syn_sent + close_wait; }
  friend bool operator==(const ConnectionCounts&, const ConnectionCounts&) = default;
};

// The connections of one process towards one endpoint: for outbound connections the remote
// address:port it connected to, for accepted ones (role inbound) the local address:port it serves.
struct ProcessDestination
{
  std::string destination; // "198.18.0.1:8080", "[fd00::1]:443"
  bool inbound = false;    // accepted connections of a service (destination is the local endpoint)
  ConnectionCounts connections;

  friend bool operator==(const ProcessDestination&, const ProcessDestination&) = default;
};

// One process holding sockets that matter, as `ss -p` would name it.
struct ProcessConnections
{
  std::uint32_t pid = 0;
  std::string comm;      // /proc/PID/comm
  std::string cmdline;   // the command line's first words, arguments joined by spaces
  std::string cgroup;    // the cgroup v2 path ("" when unreadable)
  std::string container; // "docker 0123456789ab", "pod 5f1c...", a systemd unit, or ""
  ConnectionCounts connections;
  std::vector<ProcessDestination> destinations; // most connections first (at most a few)
  // Age of its oldest CLOSE_WAIT socket, from tcp_info's time since the last packet received (the
  // peer's FIN, when nothing came after it); 0 when it holds none or tcp_info was absent.
  std::uint64_t oldest_close_wait_ms = 0;

  friend bool operator==(const ProcessConnections&, const ProcessConnections&) = default;
};

// Who holds the sockets that matter: outbound ESTABLISHED and SYN-SENT connections and every
// CLOSE_WAIT socket, mapped from their inodes to processes by one pass over every fd table (the
// kernel's task_file iterator, or a walk of /proc/PID/fd).
struct ProcessAttribution
{
  bool walked = false;                 // false: nothing needed attributing, or attribution was not possible
  std::string reason;                  // why not walked, or "" when walked
  std::string reader;                  // how the fd tables were read: "bpf-iter" or "proc-walk" ("" unwalked)
  std::string reader_note;             // why proc-walk when the iterator was tried, else ""
  std::uint64_t sockets_wanted = 0;    // sockets the census asked owners for
  std::uint64_t sockets_not_asked = 0; // more than the cap: counted, never attributed
  std::uint64_t sockets_found = 0;     // of those, found in some process's fd table
  std::uint64_t processes_scanned = 0; // fd tables read (a process; a thread with a table of its own)
  std::uint64_t processes_vanished = 0;   // exited during the walk
  std::uint64_t processes_unreadable = 0; // fd table not readable (EACCES when not root)
  std::uint64_t fds_scanned = 0;
  double walk_ms = 0.0;
  std::uint64_t process_count = 0;           // processes holding wanted sockets (all of them)
  std::vector<ProcessConnections> processes; // the top ones, most connections first

  friend bool operator==(const ProcessAttribution&, const ProcessAttribution&) = default;
};

// Outbound ESTABLISHED connections towards one destination, counted at each point of a --sample
// window (EstablishedTrend::at_seconds).
struct DestinationTrend
{
  std::string destination;                // "198.18.0.1:8080", "[fd00::1]:443"
  std::vector<std::uint64_t> established; // one count per point of the window
  double slope_per_second = 0.0;          // least-squares slope over the points

  friend bool operator==(const DestinationTrend&, const DestinationTrend&) = default;
};

// How outbound ESTABLISHED connections per destination moved through a --sample window: counted
// by a sock_diag dump of ESTABLISHED and LISTEN sockets at evenly spaced points (at most 11).
// Connections from a listening port (accepted ones) are not counted.
struct EstablishedTrend
{
  static constexpr std::size_t k_max_destinations = 20; // kept: those that gained most

  bool measured = false;                      // false: no window, or a dump failed (error says)
  std::string error;                          // why the window's counts failed; "" when measured or not taken
  std::vector<double> at_seconds;             // offsets of the points from the window's start
  std::uint64_t destinations_counted = 0;     // destinations with an ESTABLISHED connection at any point
  std::vector<DestinationTrend> destinations; // those that gained connections, most gained first

  friend bool operator==(const EstablishedTrend&, const EstablishedTrend&) = default;
};

} // namespace tw
