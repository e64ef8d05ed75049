#pragma once

#include "facts/processes.hpp"
#include "facts/sock_diag.hpp"
#include "model/census.hpp"
#include "model/sysctl.hpp"

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// What the census needs from the host besides the sockets, so tests can set it in memory.
struct CensusOptions
{
  std::optional<PortRange> port_range;   // ip_local_port_range; without it roles fall back to unknown
  std::vector<PortRange> reserved_ports; // ip_local_reserved_ports: connect() never picks them
  std::size_t top_n = 20;                // destination groups kept in the result
  bool want_timestamps = true;           // ask for tcp_info to measure the timestamp share
  std::size_t group_cap = 65536;  // groups tracked (space-saving keeps the busiest); bounds memory at ~4 MiB
  std::vector<std::string> notes; // caveats found while preparing (unreadable sysctls)
  // Name the processes holding the live connections that matter (facts/processes.hpp): the
  // aggregator collects their inodes and the live take_census walks proc_root once. When false,
  // owners_off says why in the census ("a replay has no processes").
  bool attribute_owners = false;
  std::string owners_off = "not asked for";
  std::filesystem::path proc_root = "/proc";
};

// Options from the sysctls of this namespace (port range and reserved ports), with notes.
CensusOptions census_options_from(const Sysctls& sysctls);

// The sysctls a census needs, read in the calling network namespace: the port range and the
// reserved ports (a recording keeps them, so its replay is self-contained).
Sysctls read_census_sysctls();

// The census options of the calling network namespace: its port range and reserved ports.
CensusOptions live_census_options();

// Who opened a socket, by the rules in KERNEL-NOTES.md.
enum class SocketRole
{
  outbound, // we called connect(): tw_reuse can matter
  inbound,  // we accepted: tw_reuse never applies
  unknown,  // the evidence does not tell
};

// Streams sock_diag records into a SocketCensus. Pure: no I/O, so tests feed it records.
// Memory grows with listeners and destination groups (capped), never with sockets.
class CensusAggregator
{
public:
  // Takes the port range, reserved ports, top N and group cap from options.
  explicit CensusAggregator(const CensusOptions& options);
  ~CensusAggregator();
  CensusAggregator(const CensusAggregator&) = delete;
  CensusAggregator& operator=(const CensusAggregator&) = delete;

  // Phase 1: a socket from the LISTEN-only dump (all listeners must be added before phase 2).
  void add_listener(const SockRecord& rec);
  // Phase 2: a socket from the dump of every other state.
  void add_socket(const SockRecord& rec);
  // The role of a non-listening socket given the listeners seen so far.
  SocketRole classify(const SockRecord& rec) const;
  // Adds a note (dump interrupted, IPv6 missing ...) to the result.
  void add_note(std::string note);
  // The result: counts, roles, the top groups by pressure, notes. Call once.
  SocketCensus finish();
  // The sockets whose owners the census wants named (sealed by finish()); empty unless the
  // options ask for owners.
  const SocketWants& wants() const { return m_wants; }

private:
  struct ListenerSet;
  struct GroupTable;
  enum class UnknownWhy
  {
    none,
    no_range,
    listener_in_range,
    loopback_both_ends,
    outside_range,
  };
  SocketRole classify_why(const SockRecord& rec, UnknownWhy& why) const;
  bool port_in_range(std::uint16_t port) const;

  CensusOptions m_options;
  std::unique_ptr<std::bitset<65536>> m_reserved;
  std::unique_ptr<ListenerSet> m_listeners;
  std::unique_ptr<GroupTable> m_groups;
  SocketWants m_wants;
  SocketCensus m_census;
  std::uint64_t m_unknown_no_range = 0;
  std::uint64_t m_unknown_listener_in_range = 0;
  std::uint64_t m_unknown_loopback = 0;
  std::uint64_t m_outside_range_reserved = 0; // of time_wait.outside_range: inside the range, but reserved
  std::uint64_t m_other_states = 0;
  std::uint64_t m_folded = 0;
};

// True for 127/8 and ::1 (mapped addresses are normalised before this is asked).
bool is_loopback_address(int family, const std::array<std::uint8_t, 16>& addr);

// Printed form of an address as SockRecord holds it ("198.18.1.2", "fd00:198:18:1::2").
std::string format_address(int family, const std::array<std::uint8_t, 16>& addr);

// Takes the census of the calling network namespace: LISTEN dumps first, then one dump of
// every other state, per family. OS failures are values: available=false and error say why.
SocketCensus take_census(const CensusOptions& options);

// Phase 1 of a census whose other sockets come from elsewhere (the node's one-pass walk): the
// LISTEN sockets of the calling network namespace, by sock_diag. Empty, or what failed.
std::string add_listeners(CensusAggregator& agg);

// The same census through diag: a SockDiag that records its dumps, or one that replays a recording.
SocketCensus take_census(const CensusOptions& options, SockDiag& diag);

} // namespace tw
