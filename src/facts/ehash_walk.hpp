#pragma once

#include "facts/sock_diag.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tw {

// How one pass over the shared established hash went.
struct EhashWalkResult
{
  bool ok = false;
  std::string error;          // why it did not finish (the table could not be read, ...)
  std::uint64_t sockets = 0;  // sockets handed over, every namespace
  std::uint32_t buckets = 0;  // size of the table walked
  std::uint32_t runs = 0;     // program runs (one per TW_WALK_MAX_RECORDS sockets, about)
  std::uint64_t restarts = 0; // buckets walked again because a socket moved under the walk
  double ms = 0.0;            // wall time of the walk, records handed over included
};

// Called per socket with the cookie of its network namespace and whether it is a timewait socket
// (TIME_WAIT, or an orphan FIN_WAIT2 the kernel keeps as one); the record does not outlive it.
using WalkVisitor = std::function<void(std::uint64_t netns_cookie, const SockRecord&, bool timewait)>;

// The one-pass socket walk (facts/bpf/tw_walk.bpf.c): every non-listening TCP socket of every
// network namespace that shares the established hash of the caller's namespace, read by one
// BPF program instead of one sock_diag dump per namespace (each of which walks the whole shared
// table). Its fallback, the kernel's TCP iterator, reads one namespace at a time (read_netns).
// Loading never throws: without privileges (root, or CAP_BPF and CAP_PERFMON) or kernel BTF,
// ok() is false and reason() says why; a kernel that refuses the walk alone (no bpf_loop, another
// layout of the death row) leaves the iterator: can_walk() false, walk_reason() why.
class EhashWalker
{
public:
  EhashWalker();
  ~EhashWalker();
  EhashWalker(const EhashWalker&) = delete;
  EhashWalker& operator=(const EhashWalker&) = delete;

  // The iterator is loaded (and perhaps the walk).
  bool ok() const { return m_loaded != nullptr; }
  // The one-pass walk is loaded.
  bool can_walk() const { return ok() && m_walk_reason.empty(); }
  // Why nothing is loaded.
  const std::string& reason() const { return m_reason; }
  // Why the walk is not loaded when the iterator is.
  const std::string& walk_reason() const { return m_walk_reason; }
  // Milliseconds that loading took.
  double load_ms() const { return m_load_ms; }

  // Walks the table of the calling thread's network namespace once. Records come as sock_diag
  // reports them: IPv4-mapped addresses normalised, tcp_info (only tcpi_options' timestamp bit)
  // for full sockets when want_info. Fails when the calling namespace has a table of its own.
  // TW_ADVISOR_WALK_RUN_RECORDS (a test hook, 16 or more) makes each run hand over fewer.
  EhashWalkResult walk(bool want_info, const WalkVisitor& visit);

  // The non-listening sockets of the calling thread's namespace alone, through the kernel's TCP
  // iterator, as walk() reports them.
  EhashWalkResult read_netns(bool want_info, const WalkVisitor& visit);

private:
  struct Loaded;
  std::unique_ptr<Loaded> m_loaded;
  std::string m_reason;
  std::string m_walk_reason;
  double m_load_ms = 0.0;
  std::uint32_t m_capacity = 0; // records per run: TW_WALK_MAX_RECORDS unless a test asks for fewer
};

} // namespace tw
