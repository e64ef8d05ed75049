#pragma once

#include <cstdint>
#include <string>

namespace tw {

// What a network namespace is to an operator (doc/netns.md).
enum class NetnsKind
{
  host,      // init_net, the host's own (kthreadd's; PID 1's where there is no kthreadd)
  named,     // has an `ip netns` name (/run/netns/NAME) or another nsfs bind mount
  container, // a member process's cgroup names a container (containerd, CRI-O, Docker)
  process,   // held only by processes: named after one of them (and its systemd unit)
};

// "host", "named", "container", "process".
const char* to_string(NetnsKind kind);

// One network namespace of this host, and how it is named.
struct NetnsInfo
{
  std::uint64_t inode = 0;  // nsfs inode (`ip netns identify`, `lsns`)
  std::uint64_t cookie = 0; // SO_NETNS_COOKIE, once it has been entered (never reused, unlike inodes)
  NetnsKind kind = NetnsKind::process;
  std::string name;      // "host", the ip netns name, "pod UID container ID", "pid N (comm)"
  std::string container; // container id, when a member process's cgroup names one
  std::string pod;       // Kubernetes pod UID, when the cgroup names one
  std::string runtime;   // "containerd", "cri-o" or "docker", with container
  int pid = 0;           // a member process (0 when none was found, e.g. a named netns alone)
  std::string comm;      // that process's name
  std::string path;      // the nsfs file to enter it by
};

// What `--netns` takes to reach this namespace from another one: its ip netns name (one without a
// '/'), else the pid of a process in it, else its nsfs path; empty when none is known.
std::string netns_spec(const NetnsInfo& info);

} // namespace tw
