// The one-pass socket walk's loader and reader. The BPF side is facts/bpf/tw_walk.bpf.c; the
// build embeds it through a generated libbpf skeleton.
#include "facts/ehash_walk.hpp"

#include "facts/bpf/walk_abi.h"
#include "facts/libbpf_log.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#if !defined(__clang__) // GCC only: clang (and clang-tidy) do not know it
#pragma GCC diagnostic ignored "-Wuseless-cast"
#endif
#include "facts/tw_walk.skel.h"
#pragma GCC diagnostic pop

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace tw {

namespace {

constexpr std::size_t k_records_bytes = sizeof(tw_walk_record) * TW_WALK_MAX_RECORDS;

std::string walk_error_text(std::uint32_t error)
{
  switch (error) {
    case TW_WALK_ERR_NO_HASH:
      return "the established hash could not be read (net->ipv4.tcp_death_row.hashinfo)";
    case TW_WALK_ERR_CHAIN_FULL:
      return "one hash bucket holds more than " + std::to_string(TW_WALK_MAX_RECORDS) + " sockets";
    case TW_WALK_ERR_UNSTABLE:
      return "a hash bucket kept changing under the walk";
    default:
      return "error " + std::to_string(error);
  }
}

// A listener on 127.0.0.1 (IP_FREEBIND: loopback need not be up) so the iter/tcp trigger is
// shown a socket in this namespace.
UniqueFd trigger_listener()
{
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return fd;
  }
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 1) != 0) {
    return UniqueFd{};
  }
  return fd;
}

} // namespace

struct EhashWalker::Loaded
{
  tw_walk* skeleton = nullptr;
  bpf_link* link = nullptr;
  void* records = MAP_FAILED;

  ~Loaded()
  {
    if (records != MAP_FAILED) {
      ::munmap(records, k_records_bytes);
    }
    if (link != nullptr) {
      bpf_link__destroy(link);
    }
    if (skeleton != nullptr) {
      tw_walk::destroy(skeleton);
    }
  }
};

EhashWalker::EhashWalker()
{
  std::error_code ec;
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux", ec)) {
    m_reason = "the kernel has no BTF (/sys/kernel/btf/vmlinux is absent; CONFIG_DEBUG_INFO_BTF)";
    return;
  }
  route_libbpf_logs();
  const auto start = std::chrono::steady_clock::now();
  auto loaded = std::make_unique<Loaded>();
  loaded->skeleton = tw_walk::open();
  if (loaded->skeleton == nullptr) {
    m_reason = "the walk could not be opened (" + errno_text(errno) + ")";
    return;
  }
  if (const int err = tw_walk::load(loaded->skeleton); err != 0) {
    m_reason =
      err == -EPERM || err == -EACCES
        ? "it needs root, or CAP_BPF and CAP_PERFMON (" + errno_text(-err) + ")"
        : "the kernel refused the program (" + errno_text(-err) + "; " +
            (last_libbpf_warning().empty() ? "it needs BTF, bpf_loop and iter/tcp: Linux 6.2 or later"
                                           : last_libbpf_warning()) +
            ")";
    return;
  }
  loaded->link = bpf_program__attach_iter(loaded->skeleton->progs.walk_ehash, nullptr);
  if (loaded->link == nullptr) {
    m_reason = "the TCP iterator could not be attached (" + errno_text(errno) + ")";
    return;
  }
  loaded->records =
    ::mmap(nullptr, k_records_bytes, PROT_READ, MAP_SHARED, bpf_map__fd(loaded->skeleton->maps.records), 0);
  if (loaded->records == MAP_FAILED) {
    m_reason = "the walk's record buffer could not be mapped (" + errno_text(errno) + ")";
    return;
  }
  m_load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  spdlog::debug("walk: loaded in {:.1f} ms", m_load_ms);
  m_loaded = std::move(loaded);
}

EhashWalker::~EhashWalker() = default;

EhashWalkResult EhashWalker::walk(bool want_info, const WalkVisitor& visit)
{
  EhashWalkResult result;
  if (!m_loaded) {
    result.error = m_reason;
    return result;
  }
  const auto start = std::chrono::steady_clock::now();
  const UniqueFd trigger = trigger_listener();
  if (!trigger.valid()) {
    result.error = "no loopback listener for the walk to start from (" + errno_text(errno) + ")";
    return result;
  }
  auto* bss = m_loaded->skeleton->bss;
  const auto* records = static_cast<const tw_walk_record*>(m_loaded->records);
  bss->restarts = 0;
  std::uint32_t next = 0;
  do {
    bss->start_bucket = next;
    bss->triggered = 0;
    bss->error = 0;
    bss->count = 0;
    const UniqueFd iter(bpf_iter_create(bpf_link__fd(m_loaded->link)));
    if (!iter.valid()) {
      result.error = "bpf_iter_create: " + errno_text(errno);
      return result;
    }
    char byte = 0;
    if (::read(iter.get(), &byte, 1) != 1 || bss->triggered == 0) {
      result.error = "the walk did not run (reading its iterator: " + errno_text(errno) + ")";
      return result;
    }
    ++result.runs;
    if (bss->error != 0) {
      result.error = walk_error_text(bss->error);
      return result;
    }
    const std::uint32_t count = std::min<std::uint32_t>(bss->count, TW_WALK_MAX_RECORDS);
    for (std::uint32_t i = 0; i < count; ++i) {
      const tw_walk_record& r = records[i];
      SockRecord rec;
      rec.family = r.family;
      rec.state = r.state;
      rec.local_port = r.sport;
      rec.remote_port = r.dport;
      rec.ifindex = r.ifindex;
      std::memcpy(rec.local.data(), r.saddr, rec.local.size());
      std::memcpy(rec.remote.data(), r.daddr, rec.remote.size());
      if (want_info && r.kind == TW_WALK_FULL) {
        rec.has_tcp_info = true;
        rec.tcpi_options = r.tstamp_ok != 0 ? 1U : 0U; // TCPI_OPT_TIMESTAMPS
      }
      normalise_v4_mapped(rec);
      visit(r.netns, rec, r.kind == TW_WALK_TIMEWAIT);
    }
    result.sockets += count;
    result.buckets = bss->buckets;
    if (bss->next_bucket <= next && bss->next_bucket < bss->buckets) {
      result.error = "the walk made no progress at bucket " + std::to_string(next);
      return result;
    }
    next = bss->next_bucket;
  } while (next < result.buckets);
  result.restarts = bss->restarts;
  result.ok = true;
  result.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

} // namespace tw
