#include "facts/netns.hpp"

#include "facts/host.hpp"
#include "facts/mounts.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <linux/nsfs.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace {

bool is_hex(std::string_view s)
{
  return std::all_of(
    s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The 64-hex-digit id at the start of s (after a runtime prefix), or empty.
std::string container_id(std::string_view s)
{
  if (s.size() >= 64 && is_hex(s.substr(0, 64)) && (s.size() == 64 || s[64] == '.')) {
    return std::string(s.substr(0, 64));
  }
  return {};
}

std::string comm_of(int pid)
{
  const auto read = read_file("/proc/" + std::to_string(pid) + "/comm", 256);
  return read ? printable(trim(*read)) : std::string("?");
}

// Names info from a member process: its container, pod or unit from the cgroup, else the pid.
void name_from_process(NetnsInfo& info, bool keep_name)
{
  if (info.pid == 0) {
    return;
  }
  info.comm = comm_of(info.pid);
  const auto cgroup = read_file("/proc/" + std::to_string(info.pid) + "/cgroup", 65536);
  const CgroupOwner owner = cgroup ? cgroup_owner(*cgroup) : CgroupOwner{};
  if (!owner.runtime.empty()) {
    // A container's (or pod's) namespace is one, whatever bind mount also names it (CNI's
    // /run/netns/cni-UUID, Docker's /run/docker/netns/ID): kind container; the ip netns name,
    // when there is one, stays its name. A pod is named by its UID (the container found is the
    // lowest PID's, usually the pause sandbox; the JSON carries it).
    info.container = owner.container;
    info.pod = owner.pod;
    info.runtime = owner.runtime;
    info.kind = NetnsKind::container;
    if (!keep_name) {
      info.name =
        owner.pod.empty() ? owner.runtime + " " + owner.container.substr(0, 12) : "pod " + owner.pod;
    }
    return;
  }
  if (keep_name) {
    return;
  }
  info.kind = NetnsKind::process;
  info.name = "pid " + std::to_string(info.pid) + " (" + info.comm + ")";
  if (!owner.unit.empty()) {
    info.name += " " + owner.unit;
  }
}

// The inode of the network namespace the nsfs file at path is; 0 when it is none (or is gone).
std::uint64_t netns_inode_at(const std::filesystem::path& path)
{
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st
  {};
  if (!fd.valid() || ::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET || ::fstat(fd.get(), &st) != 0) {
    return 0;
  }
  return st.st_ino;
}

// Checks that fd is a network namespace; throws naming what.
void check_netns_fd(int fd, const std::string& what)
{
  const int type = ::ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) {
    throw Error(what,
                errno == ENOTTY || errno == EINVAL
                  ? std::string("not a namespace file (nsfs): give an `ip netns` name, a path such as "
                                "/run/netns/NAME or /proc/PID/ns/net, or a PID")
                  : "NS_GET_NSTYPE: " + errno_text(errno));
  }
  if (type != CLONE_NEWNET) {
    throw Error(what, "a namespace, but not a network namespace");
  }
}

} // namespace

namespace {

// What one cgroup path says: kubepods (systemd and cgroupfs drivers), cri-containerd-ID.scope,
// crio-ID.scope, docker-ID.scope, /docker/ID, and the last systemd unit.
CgroupOwner owner_of_path(std::string_view path)
{
  CgroupOwner out;
  const bool kubepods = path.find("/kubepods") != std::string_view::npos;
  const bool docker_dir = path.find("/docker/") != std::string_view::npos;
  for (const auto part : split(path, '/')) {
    if (part.empty()) {
      continue;
    }
    // Pod: kubepods-burstable-pod<uid with _>.slice (systemd driver) or pod<uid> (cgroupfs).
    const auto pod_at = part.rfind("-pod");
    if (part.rfind("kubepods", 0) == 0 && pod_at != std::string_view::npos) {
      std::string uid(part.substr(pod_at + 4));
      if (const auto dot = uid.find(".slice"); dot != std::string::npos) {
        uid.erase(dot);
      }
      std::replace(uid.begin(), uid.end(), '_', '-');
      out.pod = uid;
    } else if (kubepods && part.rfind("pod", 0) == 0 && part.size() > 3) {
      out.pod = std::string(part.substr(3));
    }
    for (const auto& [prefix, runtime] :
         { std::pair<std::string_view, const char*>{ "cri-containerd-", "containerd" },
           { "crio-", "cri-o" },
           { "docker-", "docker" } }) {
      if (part.rfind(prefix, 0) == 0) {
        if (auto id = container_id(part.substr(prefix.size())); !id.empty()) {
          out.container = std::move(id);
          out.runtime = runtime;
        }
      }
    }
    // cgroupfs layouts name the bare id: /docker/ID, /kubepods/burstable/podUID/ID.
    if (out.runtime.empty() && (kubepods || docker_dir)) {
      if (auto id = container_id(part); !id.empty()) {
        out.container = std::move(id);
        out.runtime = docker_dir ? "docker" : "containerd";
      }
    }
    if (part.size() > 8 && (part.ends_with(".service") || part.ends_with(".scope"))) {
      out.unit = std::string(part);
    }
  }
  if (!out.runtime.empty()) {
    out.unit.clear(); // the container's scope unit says nothing the id does not
  }
  return out;
}

} // namespace

std::string cgroup_v2_path(std::string_view cgroup_text)
{
  for (const auto line : split(cgroup_text, '\n')) {
    if (line.rfind("0::", 0) == 0) {
      return std::string(line.substr(3));
    }
  }
  return {};
}

CgroupOwner cgroup_owner(std::string_view cgroup_text)
{
  // The unified (v2) line first, then every v1 controller's: on a hybrid host Docker's cgroupfs
  // driver names the container only in the v1 hierarchies, and the v2 line says "/".
  std::vector<std::string_view> paths;
  for (const auto line : split(cgroup_text, '\n')) {
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) {
      continue;
    }
    const auto path = line.substr(second + 1);
    if (line.rfind("0::", 0) == 0) {
      paths.insert(paths.begin(), path);
    } else {
      paths.push_back(path);
    }
  }
  CgroupOwner unit_only;
  for (const auto path : paths) {
    CgroupOwner owner = owner_of_path(path);
    if (!owner.runtime.empty()) {
      return owner;
    }
    if (unit_only.unit.empty()) {
      unit_only.unit = owner.unit;
    }
  }
  return unit_only;
}

std::uint64_t host_netns_inode()
{
  // The host's namespace is init_net, where kernel threads live: kthreadd (PID 2) is in it even
  // where PID 1 hides its /proc entries (a non-dumpable init). In a PID namespace of its own,
  // PID 2 is not kthreadd, and PID 1 (the container's init) is the best there is.
  int err = 0;
  const auto comm = read_file("/proc/2/comm", 64);
  if (comm && trim(*comm) == "kthreadd") {
    if (const auto inode = namespace_inode("/proc/2/ns/net", err)) {
      return *inode;
    }
  }
  return namespace_inode("/proc/1/ns/net", err).value_or(0);
}

OpenedNetns open_netns(const std::string& spec)
{
  if (spec.empty()) {
    throw Error("--netns", "empty; give an `ip netns` name, an nsfs path or a PID");
  }
  OpenedNetns out;
  std::filesystem::path path;
  std::string what = "--netns " + printable(spec);
  if (const auto number = parse_uint(spec)) {
    const std::string pid = std::to_string(*number); // "007" is 7
    if (::access(("/proc/" + pid).c_str(), F_OK) != 0) {
      throw Error(what, "no process " + pid + " (it may have exited)");
    }
    path = "/proc/" + pid + "/ns/net";
  } else if (spec.find('/') != std::string::npos) {
    path = spec;
  } else {
    path = "/run/netns/" + spec;
    if (::access(path.c_str(), F_OK) != 0) {
      throw Error(what,
                  "no network namespace named " + printable(spec) + " (no " + path.string() +
                    "; `ip netns list` shows the names)");
    }
  }
  out.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!out.fd.valid()) {
    throw Error(what,
                path.string() + ": " + errno_text(errno) +
                  (errno == EACCES && ::geteuid() != 0 ? " (entering another namespace needs root)" : ""));
  }
  check_netns_fd(out.fd.get(), path.string() == spec ? what : what + " (" + path.string() + ")");
  struct stat st
  {};
  if (::fstat(out.fd.get(), &st) != 0) {
    throw Error(path.string(), "fstat: " + errno_text(errno));
  }
  // Named as --all-netns names it, whichever way it was given.
  if (auto known = identify_netns(st.st_ino)) {
    out.info = std::move(*known);
  } else {
    out.info.kind = NetnsKind::named;
    out.info.name = path.string();
  }
  out.info.inode = st.st_ino;
  out.info.path = path;
  return out;
}

std::vector<NetnsInfo> list_netns(std::vector<std::string>& notes)
{
  std::map<std::uint64_t, NetnsInfo> found;
  const std::uint64_t host = host_netns_inode();
  if (host == 0) {
    notes.push_back(
      "the host's namespace is not marked: /proc/2/ns/net (kthreadd) and /proc/1/ns/net are unreadable");
  }

  // ip netns names first: they win the name. A leftover file that is no namespace (CNI leaves
  // empty cni-* files behind) or a name being made or removed right now is passed over.
  std::error_code ec;
  for (const auto& dir : { std::filesystem::path("/run/netns") }) {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::uint64_t inode = netns_inode_at(entry.path());
      if (inode == 0) {
        continue;
      }
      auto& info = found[inode];
      if (info.inode == 0 || entry.path().filename().string() < info.name) {
        info.inode = inode;
        info.kind = NetnsKind::named;
        info.name = entry.path().filename().string();
        info.path = entry.path();
      }
    }
  }

  // nsfs bind mounts elsewhere (/run/docker/netns/ID, CNI's directories).
  const auto mountinfo = read_file("/proc/self/mountinfo", std::size_t{ 64 } << 20);
  if (!mountinfo) {
    notes.push_back("/proc/self/mountinfo: " + errno_text(mountinfo.error()) +
                    "; namespaces held only by a bind mount outside /run/netns are missed");
  } else {
    for (const MountEntry& mount : mounts_of_type(*mountinfo, "nsfs")) {
      const std::string& mount_point = mount.mount_point;
      const std::uint64_t inode = netns_inode_at(mount_point);
      if (inode == 0 || found.count(inode) != 0) {
        continue;
      }
      auto& info = found[inode];
      info.inode = inode;
      info.kind = NetnsKind::named;
      info.name = mount_point;
      info.path = mount_point;
    }
  }

  // Every process's namespace; the lowest pid of each names it when nothing above did.
  std::vector<int> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    if (const auto pid = parse_uint(entry.path().filename().string()); pid && *pid <= INT_MAX) {
      pids.push_back(static_cast<int>(*pid));
    }
  }
  std::sort(pids.begin(), pids.end());
  std::size_t unreadable = 0;
  std::string unreadable_pids; // the first few, so the note can be checked
  for (const int pid : pids) {
    const std::filesystem::path link = "/proc/" + std::to_string(pid) + "/ns/net";
    int err = 0;
    const auto inode = namespace_inode(link, err);
    if (!inode) {
      if (err == EACCES || err == EPERM) { // ENOENT, ESRCH: it exited meanwhile
        ++unreadable;
        if (unreadable <= 5) {
          unreadable_pids += (unreadable_pids.empty() ? "" : ", ") + std::to_string(pid);
        }
      }
      continue;
    }
    auto& info = found[*inode];
    if (info.inode == 0) {
      info.inode = *inode;
      info.path = link;
    }
    if (info.pid == 0) {
      info.pid = pid;
    }
  }
  if (unreadable > 0) {
    notes.push_back(fmt::format("{} process{} namespace unreadable (pid {}{}){}",
                                unreadable,
                                unreadable == 1 ? "'s" : "es'",
                                unreadable_pids,
                                unreadable > 5 ? ", ..." : "",
                                ::geteuid() == 0
                                  ? " even as root (/proc/PID/ns/net refused it: ptrace access or an LSM); a "
                                    "namespace only it holds is missed"
                                  : ": run as root to see every namespace"));
  }

  std::vector<NetnsInfo> out;
  for (auto& [inode, info] : found) {
    if (inode == host) {
      info.kind = NetnsKind::host;
      info.name = "host";
      info.comm = info.pid != 0 ? comm_of(info.pid) : std::string();
    } else {
      const bool has_name = info.kind == NetnsKind::named && !info.name.empty();
      name_from_process(info, has_name);
      if (!has_name && info.pid == 0) {
        continue;
      }
    }
    out.push_back(std::move(info));
  }
  std::stable_sort(out.begin(), out.end(), [](const NetnsInfo& a, const NetnsInfo& b) {
    return (a.kind == NetnsKind::host) > (b.kind == NetnsKind::host);
  });
  return out;
}

std::optional<NetnsInfo> identify_netns(std::uint64_t inode)
{
  NetnsInfo info;
  info.inode = inode;
  const std::uint64_t host = host_netns_inode();
  if (host == 0 || inode == 0) {
    return std::nullopt;
  }
  if (inode == host) {
    info.kind = NetnsKind::host;
    info.name = "host";
    return info;
  }
  std::vector<std::string> notes;
  for (auto& found : list_netns(notes)) {
    if (found.inode == inode) {
      return found;
    }
  }
  info.kind = NetnsKind::process;
  info.name = "netns " + std::to_string(inode);
  return info;
}

std::optional<std::string> netns_spec_of(std::uint64_t inode)
{
  const auto info = identify_netns(inode);
  if (!info || info->kind == NetnsKind::host) {
    return std::nullopt;
  }
  auto spec = netns_spec(*info);
  return spec.empty() ? std::nullopt : std::optional<std::string>(std::move(spec));
}

bool is_host_tree(const std::filesystem::path& root)
{
  struct stat tree
  {};
  if (::stat(root.empty() ? "/" : root.c_str(), &tree) != 0) {
    return false; // not a directory we can see: it configures nothing
  }
  const auto comm = read_file("/proc/2/comm", 64);
  for (const char* reference : { comm && trim(*comm) == "kthreadd" ? "/proc/2/root" : "/proc/1/root", "/" }) {
    struct stat host
    {};
    if (::stat(reference, &host) == 0) {
      return host.st_dev == tree.st_dev && host.st_ino == tree.st_ino;
    }
  }
  return true;
}

namespace {

// setns(fd, CLONE_NEWNET), or tw::Error naming what (and root, on EPERM).
void enter_or_throw(int fd, const std::string& what)
{
  if (::setns(fd, CLONE_NEWNET) != 0) {
    throw Error(what,
                "setns: " + errno_text(errno) +
                  (errno == EPERM ? " (entering a network namespace needs root: CAP_SYS_ADMIN)" : ""));
  }
}

} // namespace

NetnsSwitch::NetnsSwitch(int fd, const std::string& what)
  : m_home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
{
  if (!m_home.valid()) {
    throw Error("/proc/thread-self/ns/net", errno_text(errno));
  }
  enter_or_throw(fd, what);
}

NetnsSwitch::~NetnsSwitch()
{
  if (::setns(m_home.get(), CLONE_NEWNET) != 0) {
    std::fputs("tw-advisor: fatal: cannot return to the original network namespace\n", stderr);
    std::abort();
  }
}

void enter_netns_for_good(int fd, const std::string& what)
{
  enter_or_throw(fd, what);
}

HostInfo current_host_named(const std::optional<NetnsInfo>& entered)
{
  HostInfo host;
  host.hostname = current_hostname();
  host.netns_inode = current_netns_inode();
  const std::optional<NetnsInfo> ns = entered ? entered : identify_netns(host.netns_inode);
  if (ns && host.netns_inode != 0) {
    host.netns_kind = to_string(ns->kind);
    host.netns_name = ns->name;
  }
  return host;
}

} // namespace tw
