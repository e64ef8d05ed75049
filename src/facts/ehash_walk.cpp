// The one-pass socket walk's loader and reader. The BPF side is facts/bpf/tw_walk.bpf.c; the
// build embeds it through a generated libbpf skeleton.
#include "facts/ehash_walk.hpp"

#include "facts/bpf/walk_abi.h"
#include "facts/bpf_iter.hpp"
#include "facts/libbpf_log.hpp"
#include "facts/skeletons.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

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

// A record as sock_diag would have reported its socket.
SockRecord to_sock_record(const tw_walk_record& r, bool want_info)
{
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
  return rec;
}

} // namespace

struct EhashWalker::Loaded
{
  tw_walk* skeleton = nullptr;
  bpf_link* link = nullptr;      // walk_ehash (null when the kernel refused the walk)
  bpf_link* iter_link = nullptr; // read_netns
  void* records = MAP_FAILED;

  ~Loaded()
  {
    if (records != MAP_FAILED) {
      ::munmap(records, k_records_bytes);
    }
    if (link != nullptr) {
      bpf_link__destroy(link);
    }
    if (iter_link != nullptr) {
      bpf_link__destroy(iter_link);
    }
    if (skeleton != nullptr) {
      tw_walk::destroy(skeleton);
    }
  }
};

EhashWalker::EhashWalker()
{
  // A test hook: fewer records per run, so a few thousand sockets take many runs.
  m_capacity = TW_WALK_MAX_RECORDS;
  if (const char* cap = std::getenv("TW_ADVISOR_WALK_RUN_RECORDS"); cap != nullptr) {
    if (const auto n = parse_int(cap); n && *n >= 16 && *n < TW_WALK_MAX_RECORDS) {
      m_capacity = static_cast<std::uint32_t>(*n);
    }
  }
  std::error_code ec;
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux", ec)) {
    m_reason = "the kernel has no BTF (/sys/kernel/btf/vmlinux is absent; CONFIG_DEBUG_INFO_BTF)";
    return;
  }
  route_libbpf_logs();
  const auto start = std::chrono::steady_clock::now();
  // The whole object first; a kernel that refuses the walk (no bpf_loop, another layout of the
  // death row) may still take the iterator alone.
  std::unique_ptr<Loaded> loaded;
  int err = 0;
  for (const bool with_walk : { true, false }) {
    loaded = std::make_unique<Loaded>();
    loaded->skeleton = tw_walk::open();
    if (loaded->skeleton == nullptr) {
      m_reason = "the walk could not be opened (" + errno_text(errno) + ")";
      return;
    }
    bpf_program__set_autoload(loaded->skeleton->progs.walk_ehash, with_walk);
    err = tw_walk::load(loaded->skeleton);
    if (err == 0) {
      break;
    }
    if (err == -EPERM || (err == -EACCES && ::geteuid() != 0)) {
      m_reason = "it needs root, or CAP_BPF and CAP_PERFMON (" + errno_text(-err) + ")";
      return;
    }
    const std::string why = last_libbpf_warning();
    if (with_walk) {
      m_walk_reason = "the kernel refused the walk (" + errno_text(-err) + (why.empty() ? "" : "; " + why) +
                      "; it needs bpf_loop and the death row of Linux 6.2 or later)";
    } else {
      m_reason = "the kernel refused the TCP iterator (" + errno_text(-err) +
                 (why.empty() ? "" : "; " + why) + "; it needs BTF and iter/tcp, Linux 5.9 or later)";
      return;
    }
  }
  if (m_walk_reason.empty()) {
    loaded->link = bpf_program__attach_iter(loaded->skeleton->progs.walk_ehash, nullptr);
    if (loaded->link == nullptr) {
      m_walk_reason = "the walk could not be attached (" + errno_text(errno) + ")";
    }
  }
  loaded->iter_link = bpf_program__attach_iter(loaded->skeleton->progs.read_netns, nullptr);
  if (loaded->iter_link == nullptr) {
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
  spdlog::debug("walk: loaded in {:.1f} ms{}",
                m_load_ms,
                m_walk_reason.empty() ? "" : ", iterator only: " + m_walk_reason);
  m_loaded = std::move(loaded);
}

EhashWalker::~EhashWalker() = default;

EhashWalkResult EhashWalker::walk(bool want_info, const WalkVisitor& visit)
{
  EhashWalkResult result;
  if (!can_walk()) {
    result.error = m_loaded ? m_walk_reason : m_reason;
    return result;
  }
  const auto start = std::chrono::steady_clock::now();
  auto* bss = m_loaded->skeleton->bss;
  const auto* records = static_cast<const tw_walk_record*>(m_loaded->records);
  bss->restarts = 0;
  m_loaded->skeleton->data->capacity = m_capacity; // initialised: in .data, not .bss
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
    const ssize_t n = ::read(iter.get(), &byte, 1);
    if (n < 0) {
      result.error = "reading the walk's iterator: " + errno_text(errno);
      return result;
    }
    if (n != 1 || bss->triggered == 0) {
      result.error = "the walk did not run (its iterator showed no task)";
      return result;
    }
    ++result.runs;
    if (bss->pernet != 0) {
      result.error = "this namespace has a TCP hash table of its own (net.ipv4.tcp_child_ehash_entries): the "
                     "walk would see only its sockets";
      return result;
    }
    if (bss->error != 0) {
      result.error = walk_error_text(bss->error);
      return result;
    }
    const std::uint32_t count = std::min<std::uint32_t>(bss->count, TW_WALK_MAX_RECORDS);
    for (std::uint32_t i = 0; i < count; ++i) {
      const tw_walk_record& r = records[i];
      visit(r.netns_cookie, to_sock_record(r, want_info), r.kind == TW_WALK_TIMEWAIT);
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

EhashWalkResult EhashWalker::read_netns(bool want_info, const WalkVisitor& visit)
{
  EhashWalkResult result;
  if (!m_loaded) {
    result.error = m_reason;
    return result;
  }
  const auto start = std::chrono::steady_clock::now();
  const UniqueFd iter(bpf_iter_create(bpf_link__fd(m_loaded->iter_link)));
  if (!iter.valid()) {
    result.error = "bpf_iter_create: " + errno_text(errno);
    return result;
  }
  const std::string error =
    read_iter_records(iter.get(), sizeof(tw_walk_record), "the TCP iterator", [&](const void* record) {
      tw_walk_record r{};
      std::memcpy(&r, record, sizeof(r));
      visit(r.netns_cookie, to_sock_record(r, want_info), r.kind == TW_WALK_TIMEWAIT);
      ++result.sockets;
    });
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  result.runs = 1;
  result.ok = true;
  result.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

} // namespace tw
