#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tw {

// One socket as a sock_diag dump reports it, decoded in place and dropped after the callback.
// IPv4-mapped IPv6 addresses are normalised: family AF_INET, the address in the first 4 bytes.
struct SockRecord
{
  std::uint8_t family = 0; // AF_INET or AF_INET6 (after normalisation)
  std::uint8_t state = 0;  // TcpState value (idiag_state)
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  std::uint32_t ifindex = 0;             // bound device (idiag_if), 0 when unbound
  std::array<std::uint8_t, 16> local{};  // network byte order; IPv4 uses the first 4 bytes
  std::array<std::uint8_t, 16> remote{}; // network byte order; IPv4 uses the first 4 bytes
  bool has_tcp_info = false;             // INET_DIAG_INFO was present (never for TIME_WAIT)
  std::uint8_t tcpi_options = 0;         // tcp_info.tcpi_options when has_tcp_info
  bool v4_mapped = false;                // an AF_INET6 socket with IPv4-mapped addresses, normalised
  std::uint32_t inode = 0;               // idiag_inode: the socket's inode (0 for TIME_WAIT and orphans)
  std::uint32_t last_ack_recv_ms = 0;    // tcp_info.tcpi_last_ack_recv when has_tcp_info
};

// True for the all-zero address (a wildcard bind, or an unset peer).
inline bool is_zero_address(const std::array<std::uint8_t, 16>& a)
{
  for (const auto b : a) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

// An AF_INET6 socket with IPv4-mapped addresses becomes AF_INET with v4_mapped set, as every
// reader of sockets reports it (the IPv4 address in the first 4 bytes).
void normalise_v4_mapped(SockRecord& rec);

// Called once per decoded socket; the record does not outlive the call.
using SockVisitor = std::function<void(const SockRecord&)>;

// What decoding one receive buffer of netlink messages found.
struct DecodeResult
{
  bool done = false;          // NLMSG_DONE (or NLMSG_ERROR) ended the dump
  int error = 0;              // positive errno from NLMSG_ERROR or a negative NLMSG_DONE code
  bool interrupted = false;   // a message carried NLM_F_DUMP_INTR: tables changed mid-dump
  std::uint64_t messages = 0; // socket messages decoded
  std::uint64_t skipped = 0;  // messages of this sequence ignored (too short, unknown type)
  std::uint64_t foreign = 0;  // messages of another sequence (an earlier, abandoned dump)
  std::size_t trailing = 0;   // bytes after the last whole message (a cut-off message)
};

// Decodes every netlink message in data[0, len) (one recv's worth) and calls visit for each
// SOCK_DIAG_BY_FAMILY reply whose sequence is seq. Pure: tests feed it literal bytes.
DecodeResult decode_sock_diag(const std::uint8_t* data,
                              std::size_t len,
                              std::uint32_t seq,
                              const SockVisitor& visit);

// Bit for a TcpState value in inet_diag_req_v2.idiag_states.
constexpr std::uint32_t state_bit(unsigned state)
{
  return 1U << state;
}

// How one dump went; failures are values so the caller decides how to report them.
struct DumpResult
{
  bool ok = false;            // the dump ran to NLMSG_DONE
  std::string step;           // what failed, e.g. "send inet_diag_req_v2 (AF_INET6)"
  int error = 0;              // errno of the failure
  bool interrupted = false;   // NLM_F_DUMP_INTR seen: counts are approximate
  std::uint64_t messages = 0; // sockets decoded
  // Messages of this dump's sequence that were ignored (too short, unknown type) plus cut-off
  // trailing messages: sockets the counts may lack. Foreign sequence numbers (the leftovers
  // of an earlier, abandoned dump) are not counted here.
  std::uint64_t skipped = 0;
};

class DumpFileWriter;
class DumpFileReader;

// A NETLINK_SOCK_DIAG socket (libnl-3), reused for several dumps. Not thread-safe.
// It can also record every dump's raw replies, or replay a recording instead of asking the kernel
// (doc/census.md, "Recording and replaying a census"): callers cannot tell a replay from a dump.
class SockDiag
{
public:
  // Opens and connects the socket; on failure ok() is false and error()/step() say why.
  SockDiag();
  // As SockDiag(), and every dump's request and raw reply bytes also go to recorder, which must
  // outlive this object.
  explicit SockDiag(DumpFileWriter& recorder);
  // No socket: each dump_tcp decodes the recording's next section, which must be the same
  // request; recording must outlive this object.
  explicit SockDiag(DumpFileReader& recording);
  ~SockDiag();
  SockDiag(const SockDiag&) = delete;
  SockDiag& operator=(const SockDiag&) = delete;

  // True when the socket is usable.
  bool ok() const { return m_error == 0; }
  // The step that failed when !ok() ("nl_connect(NETLINK_SOCK_DIAG)" ...).
  const std::string& step() const { return m_step; }
  // errno of that failure.
  int error() const { return m_error; }

  // Dumps TCP sockets of one family (AF_INET/AF_INET6) in the states of the idiag_states mask,
  // streaming each to visit; want_info asks for tcp_info (INET_DIAG_INFO) on full sockets.
  // An exception from visit fails the dump (step "aggregating the dump (...)"); the rest of
  // that dump may still be queued on the socket, so take further dumps on a new SockDiag.
  DumpResult dump_tcp(int family, std::uint32_t states, bool want_info, const SockVisitor& visit);

private:
  DumpResult replay_dump(int family, std::uint32_t states, bool want_info, const SockVisitor& visit);

  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_step;
  int m_error = 0;
};

} // namespace tw
