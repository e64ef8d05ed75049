// The socket owner iterator's loader and reader. The BPF side is facts/bpf/tw_owners.bpf.c; the
// build embeds it through a generated libbpf skeleton.
#include "facts/owners_iter.hpp"

#include "facts/bpf/owners_abi.h"
#include "facts/bpf_iter.hpp"
#include "facts/libbpf_log.hpp"
#include "facts/skeletons.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace tw {

namespace {

struct Loaded
{
  tw_owners* skeleton = nullptr;
  bpf_link* link = nullptr;

  Loaded() = default;
  Loaded(const Loaded&) = delete;
  Loaded& operator=(const Loaded&) = delete;
  ~Loaded()
  {
    if (link != nullptr) {
      bpf_link__destroy(link);
    }
    if (skeleton != nullptr) {
      tw_owners::destroy(skeleton);
    }
  }
};

} // namespace

SocketFdScan scan_socket_fds()
{
  SocketFdScan scan;
  std::error_code ec;
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux", ec)) {
    scan.error = "the kernel has no BTF (/sys/kernel/btf/vmlinux is absent; CONFIG_DEBUG_INFO_BTF)";
    return scan;
  }
  route_libbpf_logs();
  const auto load_start = std::chrono::steady_clock::now();
  Loaded loaded;
  loaded.skeleton = tw_owners::open();
  if (loaded.skeleton == nullptr) {
    scan.error = "the socket owner iterator could not be opened (" + errno_text(errno) + ")";
    return scan;
  }
  if (const int err = tw_owners::load(loaded.skeleton); err != 0) {
    if (err == -EPERM || (err == -EACCES && ::geteuid() != 0)) {
      scan.error = "the task_file iterator needs root, or CAP_BPF and CAP_PERFMON (" + errno_text(-err) + ")";
    } else {
      const std::string why = last_libbpf_warning();
      scan.error = "the kernel refused the task_file iterator (" + errno_text(-err) +
                   (why.empty() ? "" : "; " + why) + "; it needs BTF and Linux 5.8 or later)";
    }
    return scan;
  }
  loaded.link = bpf_program__attach_iter(loaded.skeleton->progs.socket_fds, nullptr);
  if (loaded.link == nullptr) {
    scan.error = "the task_file iterator could not be attached (" + errno_text(errno) + ")";
    return scan;
  }
  scan.load_ms = ms_since(load_start);

  const auto read_start = std::chrono::steady_clock::now();
  const UniqueFd iter(bpf_iter_create(bpf_link__fd(loaded.link)));
  if (!iter.valid()) {
    scan.error = "the task_file iterator: bpf_iter_create: " + errno_text(errno);
    return scan;
  }
  scan.error = read_iter_records(
    iter.get(), sizeof(tw_owner_record), "the task_file iterator", [&scan](const void* record) {
      tw_owner_record r{};
      std::memcpy(&r, record, sizeof(r));
      scan.socket_fds.push_back({ r.tgid, r.inode });
    });
  if (!scan.error.empty()) {
    scan.socket_fds.clear();
    return scan;
  }
  const auto* bss = loaded.skeleton->bss;
  scan.files = bss->files;
  scan.tables = bss->tables;
  scan.read_ms = ms_since(read_start);
  // The iterator names processes by their ids in the initial PID namespace; /proc (names, command
  // lines) by those of ours. They agree when the iterator saw this very process as getpid().
  if (bss->reader_tgid != static_cast<std::uint32_t>(::getpid())) {
    scan.error = "this process is not in the initial PID namespace (the kernel's process ids are "
                 "not those of /proc here)";
    scan.socket_fds.clear();
    return scan;
  }
  scan.ok = true;
  return scan;
}

} // namespace tw
