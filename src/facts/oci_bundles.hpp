#pragma once

#include "model/boot.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tw {

// One container's OCI bundle, as far as the sysctls of its network namespace go.
struct OciBundle
{
  RuntimeContainer container;
  std::uint64_t netns = 0;  // inode of its network namespace; 0: the host's network, or gone
  bool sandbox = false;     // a Kubernetes pod's sandbox (CRI container type "sandbox")
  bool makes_netns = false; // the namespace is made for it (a pod's sandbox; a container's own)
  Settings sysctls;         // linux.sysctl, canonical keys, in key order
  std::string runtime;      // "containerd", "cri-o" or "docker"
};

struct OciBundles
{
  std::vector<OciBundle> bundles;
  std::vector<std::string> unreadable; // "PATH (reason)"
};

// The OCI bundles the container runtimes keep under root:
// - containerd's (shim v2): ROOT/run/containerd/io.containerd.runtime.v2.task/NS/ID, with
//   config.json and init.pid. NS k8s.io is the CRI's (Kubernetes), moby Docker's.
// - CRI-O's: ROOT/run/containers/storage/overlay-containers/ID/userdata, with config.json and
//   pidfile.
// Also Docker's own containerd (ROOT/run/docker/containerd/daemon/...) and k3s's
// (ROOT/run/k3s/containerd/...). A container's network namespace is that of the process in its
// pid file, when it runs and its /proc/PID/cgroup names the container (a pid file outlives its
// process); else the one its config joins (linux.namespaces' network path: a pinned /run/netns
// file, or /proc/PID/ns/net, read below proc). A bundle whose namespace is gone, or that has
// none of its own (the host's network), gets netns 0. Missing runtime directories are no error;
// what cannot be read (not root, a config that is not an OCI config) is listed in unreadable.
OciBundles read_oci_bundles(const std::filesystem::path& root, const std::filesystem::path& proc);

// What the runtimes set of `keys` in the namespace with inode netns when it is made again, or
// when a container in it starts again: one claim per container and key its linux.sysctl sets,
// whose effect says when that happens and where to change it (the pod's securityContext.sysctls,
// the container's --sysctl). The claims' values win over a change made here (overrides_sysctld).
NamespaceBootFacts namespace_boot_facts(const OciBundles& all,
                                        std::uint64_t netns,
                                        const std::vector<std::string>& keys);

} // namespace tw
