#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// One process seen by the probe calling connect() or bind().
struct SymptomProcess
{
  std::uint32_t pid = 0; // the thread group id (what ps shows as PID)
  std::string comm;      // the task name when it first appeared in the window
  std::string cgroup;    // its cgroup v2 path when the process still lived at read time, else ""
  std::uint64_t cgroup_id = 0;
  std::uint64_t connects = 0;      // connect() calls, whatever their result
  std::uint64_t eaddrnotavail = 0; // of which failed with EADDRNOTAVAIL
  std::uint64_t eaddrinuse = 0;    // bind() to port 0 that failed with EADDRINUSE

  friend bool operator==(const SymptomProcess&, const SymptomProcess&) = default;
};

// What connect() and the handshakes towards one destination (address:port) did in the window.
struct SymptomDestination
{
  std::string destination;      // "198.18.0.1:8080", "[fd00::1]:443"
  std::string family;           // "ipv4" (v4-mapped IPv6 included) or "ipv6"
  std::uint64_t connect_ok = 0; // succeeded (doc/probe.md: as each set of hooks sees it)
  std::uint64_t connect_eaddrnotavail = 0;
  std::map<std::string, std::uint64_t> connect_errors; // other errors by errno name ("ETIMEDOUT")
  std::uint64_t v4_mapped = 0;                         // connect() calls made on AF_INET6 sockets (v4-mapped)
  std::uint64_t handshakes_ok = 0;                     // SYN_SENT -> ESTABLISHED (non-blocking connects too)
  std::uint64_t handshakes_failed = 0;                 // SYN_SENT -> CLOSE: refused, reset or timed out
  std::uint64_t recycled = 0;                          // handshakes that took over a tuple in TIME_WAIT
  std::uint64_t recycled_failed = 0;    // of which closed before ESTABLISHED (the PAWS/SNAT danger)
  std::optional<double> connect_us_p50; // connect()'s port search time (upper bucket bound)
  std::optional<double> connect_us_p99;
  std::vector<SymptomProcess> processes; // most failures first, then most connects

  friend bool operator==(const SymptomDestination&, const SymptomDestination&) = default;
};

// bind() to port 0 of one local address failing with EADDRINUSE.
struct SymptomBindFailure
{
  std::string local;  // "198.18.0.2", "fd00::2"
  std::string family; // "ipv4" or "ipv6"
  std::uint64_t count = 0;
  std::vector<SymptomProcess> processes;

  friend bool operator==(const SymptomBindFailure&, const SymptomBindFailure&) = default;
};

// Where the plan's evidence about the symptom comes from.
enum class EvidenceSource
{
  counters, // the socket census and the kernel counters only: EADDRNOTAVAIL is inferred
  probe,    // the BPF probe watched connect(), bind() and the handshakes over a window
};

// "counters", "probe".
const char* to_string(EvidenceSource source);
// The inverse of to_string(EvidenceSource).
std::optional<EvidenceSource> evidence_source_from_string(std::string_view text);

// The symptom itself, measured (source probe) or not (source counters, with the reason).
struct SymptomEvidence
{
  EvidenceSource source = EvidenceSource::counters;
  std::string reason;                           // why the probe was or was not used, one line
  double window_seconds = 0.0;                  // how long the probe watched
  std::vector<SymptomDestination> destinations; // most EADDRNOTAVAIL first, then most connects
  std::vector<SymptomBindFailure> bind_eaddrinuse;
  std::uint64_t dropped = 0;        // events not counted because a probe map was full
  std::uint64_t missed = 0;         // events the kernel skipped: the program was busy on that CPU
  std::uint64_t time_wait_seen = 0; // tuples that entered TIME_WAIT in the window
  bool time_wait_capped = false;    // more than the probe tracks: recycled is a lower bound

  // Totals over the destinations.
  std::uint64_t total_eaddrnotavail() const;
  std::uint64_t total_bind_eaddrinuse() const;
  std::uint64_t total_recycled_failed() const;
  // The destination "addr:port", or nullptr.
  const SymptomDestination* destination(std::string_view name) const;

  friend bool operator==(const SymptomEvidence&, const SymptomEvidence&) = default;
};

// The counters-only evidence with a reason (no probe asked for, or none possible here).
SymptomEvidence counters_evidence(std::string reason);

} // namespace tw
