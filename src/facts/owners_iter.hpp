#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tw {

// One open socket of one process.
struct SocketFd
{
  std::uint32_t pid = 0;   // the process (thread group id)
  std::uint64_t inode = 0; // the socket's inode, as sock_diag reports it
};

// What one pass of the task_file iterator found, and what it cost.
struct SocketFdScan
{
  bool ok = false;
  std::string error; // why not ok: no BTF, no privileges, a refusing kernel ...
  std::vector<SocketFd> socket_fds;
  std::uint64_t files = 0;  // open files seen, sockets or not
  std::uint64_t tables = 0; // file tables seen (a process; a thread that unshared its table)
  double load_ms = 0.0;     // loading the BPF program
  double read_ms = 0.0;     // the pass itself
};

// Every open socket of every process, from one pass of the kernel's task_file iterator (a BPF
// program: facts/bpf/tw_owners.bpf.c), instead of a readlink of every /proc/PID/fd entry. Needs
// root, or CAP_BPF and CAP_PERFMON, kernel BTF and Linux 5.8, and the initial PID namespace (the
// kernel's process ids are then those of /proc). Never throws: ok false and error say why.
SocketFdScan scan_socket_fds();

} // namespace tw
