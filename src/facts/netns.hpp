#pragma once

#include "model/facts.hpp"
#include "model/netns.hpp"
#include "util/unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// The container a process belongs to, read from its /proc/PID/cgroup text.
struct CgroupOwner
{
  std::string runtime;   // "containerd", "cri-o", "docker"; empty when not a container
  std::string container; // full container id (64 hex digits as the runtimes write it)
  std::string pod;       // Kubernetes pod UID with dashes, when the path names a pod
  std::string unit;      // the systemd unit (last *.service or *.scope), when any
};

// Reads a /proc/PID/cgroup text, the v2 line ("0::/path") first, then each v1 controller's (a
// hybrid host's Docker names its containers only there): kubepods (systemd and cgroupfs
// drivers), cri-containerd-ID.scope, crio-ID.scope, docker-ID.scope and /docker/ID. Pure.
CgroupOwner cgroup_owner(std::string_view cgroup_text);

// The cgroup v2 path ("/system.slice/app.service") of a /proc/PID/cgroup text: its "0::" line;
// "" when it has none. Pure.
std::string cgroup_v2_path(std::string_view cgroup_text);

// The host's namespace inode (init_net: kthreadd's, else PID 1's); 0 when unreadable.
std::uint64_t host_netns_inode();

// `--netns SPEC`: a name under /run/netns, a path to an nsfs file (has a '/'), or a PID (digits).
// Opens it (keeping it alive), checks it is a network namespace and names it. Throws tw::Error
// naming SPEC: no such name, no such process, not a namespace file, a namespace of another type.
struct OpenedNetns
{
  NetnsInfo info;
  UniqueFd fd;
};
OpenedNetns open_netns(const std::string& spec);

// Every network namespace of the host, deduplicated by inode, sorted host first then by inode:
// from /run/netns, /proc/*/ns/net and nsfs bind mounts in /proc/self/mountinfo. What vanishes
// or cannot be read while listing is said in notes, never thrown. Needs root to see every
// process's namespace.
std::vector<NetnsInfo> list_netns(std::vector<std::string>& notes);

// How the namespace with this inode is known: host, an ip netns name, else from the first
// process found in it; nullopt when the host's own inode cannot be read (not root), so that no
// claim "this is not the host" is ever made on a guess. One walk of /proc when not the host's.
std::optional<NetnsInfo> identify_netns(std::uint64_t inode);

// What `--netns` takes to reach the namespace with this inode from another one (netns_spec):
// nullopt for the host's, or when nothing names it.
std::optional<std::string> netns_spec_of(std::uint64_t inode);

// The host and the namespace this process is in now, as a document header names them
// (report/document.hpp): `entered` names it when --netns was given, else identify_netns does;
// kernel_release is left empty.
HostInfo current_host_named(const std::optional<NetnsInfo>& entered);

// True when root is the host's own file system root (the same directory as init's: kthreadd's
// /proc/2/root, else /proc/1/root, else this process's /), however it is spelled ("/", "/.",
// a bind mount of / at /host). Its /etc/sysctl.d configures the host's namespace at boot.
bool is_host_tree(const std::filesystem::path& root);

// Moves the calling thread into a network namespace and back. /proc/sys/net, /proc/net and
// every socket made afterwards belong to the namespace entered (KERNEL-NOTES: setns needs
// CAP_SYS_ADMIN). The destructor returns to the namespace the thread was in; a failure to
// return is fatal to the process (nothing after it could be trusted), so it aborts.
class NetnsSwitch
{
public:
  // Enters fd's namespace; throws tw::Error naming `what` when setns refuses.
  NetnsSwitch(int fd, const std::string& what);
  ~NetnsSwitch();
  NetnsSwitch(const NetnsSwitch&) = delete;
  NetnsSwitch& operator=(const NetnsSwitch&) = delete;

private:
  UniqueFd m_home;
};

// Enters fd's namespace for the rest of the process (`--netns`: one namespace per run).
void enter_netns_for_good(int fd, const std::string& what);

} // namespace tw
