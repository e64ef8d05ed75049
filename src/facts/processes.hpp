#pragma once

#include "facts/sock_diag.hpp"
#include "model/processes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace tw {

// The sockets whose owners a census wants to know, collected while the dump streams: outbound
// ESTABLISHED and SYN-SENT connections and every CLOSE_WAIT socket (inbound ones by the local
// endpoint they were accepted on). 16 bytes per socket; at most cap sockets, the rest counted.
class SocketWants
{
public:
  static constexpr std::size_t k_default_cap = 1U << 20; // 16 MiB

  explicit SocketWants(std::size_t cap = k_default_cap);

  // Takes the socket when it is one whose owner matters; outbound is the census's role for it.
  void add(const SockRecord& rec, bool outbound);
  // Sorts the table for lookups; call once, after the last add.
  void seal();

  // One wanted socket: 16 bytes, sorted by inode for the walk's lookups.
  struct Socket
  {
    std::uint32_t inode = 0;
    std::uint32_t endpoint = 0;         // index into endpoints()
    std::uint32_t last_ack_recv_ms = 0; // tcp_info's time since the peer's last ACK
    std::uint8_t state = 0;             // TcpState value
  };
  // Where a wanted socket goes: the peer of an outbound connection, or the local endpoint an
  // accepted one came in on. Kept binary; printed only for the owners reported.
  struct Endpoint
  {
    std::array<std::uint8_t, 16> address{};
    std::uint16_t port = 0;
    std::uint8_t family = 0;
    bool inbound = false;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
  };
  // Hashes an Endpoint for unordered containers (FNV-1a over its bytes).
  struct EndpointHash
  {
    std::size_t operator()(const Endpoint& e) const;
  };

  // The wanted socket with this inode, or nullptr (seal() first).
  const Socket* find(std::uint64_t inode) const;
  // Its index in the table (for the walk's found-marks).
  std::size_t index_of(const Socket* s) const { return static_cast<std::size_t>(s - m_sockets.data()); }
  // The wanted socket at an index_of().
  const Socket& socket(std::size_t index) const { return m_sockets[index]; }
  // Every distinct endpoint of the wanted sockets.
  const std::vector<Endpoint>& endpoints() const { return m_endpoints; }
  // "198.18.0.1:8080", "[fd00::1]:443".
  static std::string text(const Endpoint& e);
  // Wanted sockets held in the table.
  std::size_t size() const { return m_sockets.size(); }
  // Wanted sockets beyond the cap: counted, never looked for.
  std::uint64_t not_asked() const { return m_not_asked; }

private:
  std::size_t m_cap;
  std::vector<Socket> m_sockets;
  std::vector<Endpoint> m_endpoints;
  std::unordered_map<Endpoint, std::uint32_t, EndpointHash> m_endpoint_index;
  std::uint64_t m_not_asked = 0;
  bool m_sealed = false;
};

struct AttributionOptions
{
  std::filesystem::path proc_root = "/proc";
  // Read every fd table in one pass of the kernel's task_file iterator (facts/owners_iter) and
  // walk proc_root only when it cannot be used (reader_note says why). Only for the real /proc.
  bool try_iterator = false;
  std::size_t top_processes = 10;   // processes kept in the result (process_count counts all)
  std::size_t top_destinations = 5; // endpoints kept per process
};

// Finds the owners of the wanted sockets by one pass over every process's fd table (the BPF
// iterator, or a walk of <proc_root>/PID/fd as `ss -p` does), and names each owner (comm, command line,
// cgroup, container). Processes that exit during the walk and fd tables that cannot be read (EACCES as
// non-root) are counted, never an error. Nothing wanted: no walk, walked=false with the reason.
ProcessAttribution attribute_processes(const SocketWants& wants, const AttributionOptions& options);

// "socket:[12345]" -> 12345; 0 for anything else (pipes, files, anon inodes). Pure.
std::uint64_t socket_inode_of_link(std::string_view link);

// The first words of a /proc/PID/cmdline (NUL-separated), joined by spaces, the program by its
// file name ("/usr/bin/python3 app.py" -> "python3 app.py"), cut to about max_chars at a word
// boundary (" ..." appended when cut). Pure.
std::string cmdline_words(std::string_view raw, std::size_t max_chars = 100);

// "pod 5f1c2d3e-...", "docker 0123456789ab" (the runtime and 12 digits of the container id),
// "nginx.service" (the systemd unit) or "" from a /proc/PID/cgroup text.
std::string container_label(std::string_view cgroup_text);

} // namespace tw
