// The evidence probe's loader and reader. The BPF side is facts/bpf/tw_probe.bpf.c; the build
// embeds it through a generated libbpf skeleton, so the binary is all a user installs.
#include "facts/probe.hpp"

#include "facts/bpf/probe_abi.h"
#include "facts/census.hpp"
#include "facts/libbpf_log.hpp"
#include "facts/mounts.hpp"
#include "facts/netns.hpp"
#include "facts/skeletons.hpp"
#include "model/census.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <fmt/format.h>
#include <linux/types.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <system_error>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace tw {

namespace {

constexpr std::array<const char*, TW_ERR_SLOTS> k_error_names = {
  "ETIMEDOUT", "ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "ECONNRESET",
  "EACCES",    "EPERM",        "EINTR",       "EADDRINUSE",   "other",
};

// Events the kernel did not hand to the probe's programs: a tracing program that is already
// running on a CPU (a softirq that interrupted it there) is skipped, and the kernel counts the
// skip in the program's recursion_misses (bpf_prog_info, Linux 5.12). Summed over the programs.
std::uint64_t recursion_misses(const struct bpf_object* obj)
{
  std::uint64_t total = 0;
  struct bpf_program* program = nullptr; // NOLINT(misc-const-correctness): libbpf iterates non-const
  bpf_object__for_each_program(program, obj)
  {
    const int fd = bpf_program__fd(program);
    if (fd < 0) {
      continue;
    }
    bpf_prog_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0) {
      total += info.recursion_misses;
    }
  }
  return total;
}

std::array<std::uint8_t, 16> address_bytes(const __u8 (&addr)[16])
{
  std::array<std::uint8_t, 16> out{};
  std::copy(std::begin(addr), std::end(addr), out.begin());
  return out;
}

int family_of(__u8 family)
{
  return family == AF_INET6 ? AF_INET6 : AF_INET;
}

const char* family_name(__u8 family)
{
  return family == AF_INET6 ? "ipv6" : "ipv4";
}

// The cgroup v2 path of a live process ("/system.slice/app.service"), or "" when gone.
std::string cgroup_of(std::uint32_t pid)
{
  const auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup", 65536);
  return text ? cgroup_v2_path(*text) : std::string();
}

// The task name as printable text: prctl(PR_SET_NAME) allows any byte, and a control character
// would make the plan that quotes it unreadable by apply --plan.
std::string comm_of(const char (&comm)[16])
{
  std::string out(comm, strnlen(comm, sizeof(comm)));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    c = u < 0x20 || u == 0x7f ? '?' : c;
  }
  return out;
}

// Most failures first, then most calls, then pid: a stable order for output and tests.
void sort_processes(std::vector<SymptomProcess>& processes)
{
  std::sort(processes.begin(), processes.end(), [](const SymptomProcess& a, const SymptomProcess& b) {
    return std::tuple(a.eaddrnotavail + a.eaddrinuse, a.connects, b.pid) >
           std::tuple(b.eaddrnotavail + b.eaddrinuse, b.connects, a.pid);
  });
}

using EventRows = std::vector<std::pair<tw_probe_key, tw_probe_counts>>;
using LatencyRows = std::vector<std::pair<tw_probe_latency_key, tw_probe_latency>>;

// Every (key, value) of a BPF hash map; with generation, only that generation's rows, and they
// are deleted once read (drain(): no program writes that generation any more).
template<typename Key, typename Value>
std::vector<std::pair<Key, Value>> read_map(const struct bpf_map* map, std::optional<std::uint8_t> generation)
{
  // The keys first: deleting while walking would restart the walk.
  std::vector<Key> keys;
  Key key{};
  Key next{};
  const Key* previous = nullptr;
  while (bpf_map__get_next_key(map, previous, &next, sizeof(Key)) == 0) {
    if (!generation || next.generation == *generation) {
      keys.push_back(next);
    }
    key = next;
    previous = &key;
  }
  std::vector<std::pair<Key, Value>> rows;
  rows.reserve(keys.size());
  for (const Key& k : keys) {
    Value value{};
    if (bpf_map__lookup_elem(map, &k, sizeof(Key), &value, sizeof(Value), 0) == 0) {
      rows.emplace_back(k, value);
    }
    if (generation) {
      bpf_map__delete_elem(map, &k, sizeof(Key), 0);
    }
  }
  return rows;
}

} // namespace

struct EvidenceProbe::Loaded
{
  tw_probe* skeleton = nullptr;
  std::uint64_t cookie = 0;
  std::chrono::steady_clock::time_point since;

  ~Loaded()
  {
    if (skeleton != nullptr) {
      tw_probe::destroy(skeleton);
    }
  }
};

std::uint64_t current_netns_cookie()
{
  const UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return 0;
  }
  std::uint64_t cookie = 0;
  socklen_t length = sizeof(cookie);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length) != 0) {
    cookie = 0;
  }
  return cookie;
}

std::optional<double> latency_percentile(const std::uint32_t* buckets, std::size_t count, double quantile)
{
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    total += buckets[i];
  }
  if (total == 0) {
    return std::nullopt;
  }
  // The smallest bucket whose cumulative count reaches the quantile's rank.
  const auto rank = static_cast<std::uint64_t>(std::ceil(quantile * static_cast<double>(total)));
  std::uint64_t seen = 0;
  std::size_t b = 0;
  for (; b < count; ++b) {
    seen += buckets[b];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      break;
    }
  }
  if (b < 4) {
    return static_cast<double>(b + 1); // 0..3 us: one bucket each, upper bound b + 1
  }
  // Bucket b covers [(4 + sub) << (e - 2), (5 + sub) << (e - 2)) with e = b / 4 + 1, sub = b % 4.
  const std::size_t e = b / 4 + 1;
  const std::size_t sub = b % 4;
  return std::ldexp(static_cast<double>(5 + sub), static_cast<int>(e) - 2);
}

namespace {

// A directory fd on the root of a cgroup v2 hierarchy mounted for the purpose in a child's own
// mount namespace, passed back over a socket pair; the mount goes with the child. For a process
// whose mount namespace has none (`ip netns exec` mounts a fresh /sys without the cgroup mounts).
// Error: why not (needs CAP_SYS_ADMIN).
Result<UniqueFd> cgroup2_private_mount()
{
  int pair[2] = { -1, -1 };
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Failure{ errno, std::string("socketpair: ") + std::strerror(errno) };
  }
  const UniqueFd mine(pair[0]);
  UniqueFd theirs(pair[1]);
  const pid_t child = ::fork();
  if (child < 0) {
    return Failure{ errno, std::string("fork: ") + std::strerror(errno) };
  }
  if (child == 0) {
    // The child: system calls only (the parent may have threads), then _exit.
    int err = 0;
    int fd = -1;
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("cgroup2", "/tmp", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0 ||
        (fd = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
      err = errno;
    }
    char data = static_cast<char>(err);
    iovec io{ &data, 1 };
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ::sendmsg(theirs.get(), &msg, 0);
    ::_exit(0);
  }
  theirs = UniqueFd();
  char data = 0;
  iovec io{ &data, 1 };
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t got = ::recvmsg(mine.get(), &msg, MSG_CMSG_CLOEXEC);
  int status = 0;
  ::waitpid(child, &status, 0);
  const cmsghdr* c = got > 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) {
    const int err = got > 0 && data != 0 ? data : EIO;
    return Failure{ err, std::string("mounting the cgroup v2 hierarchy: ") + std::strerror(err) };
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return UniqueFd(fd);
}

// A directory fd on the root of the cgroup v2 hierarchy, where the socket hooks attach so that
// they see every process's sockets (inside a cgroup namespace: the container's): this process's
// mount of it, else one of its own. Error: why not.
Result<UniqueFd> cgroup2_root()
{
  if (const auto mountinfo = read_file("/proc/self/mountinfo", std::size_t{ 64 } << 20)) {
    const auto mounts = mounts_of_type(*mountinfo, "cgroup2");
    for (const MountEntry& m : mounts) {
      if (m.root != "/") {
        continue; // a part of the hierarchy: its programs would miss the rest
      }
      UniqueFd fd(::open(m.mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd.valid()) {
        return Failure{ errno, m.mount_point + ": " + std::strerror(errno) };
      }
      return fd;
    }
  }
  return cgroup2_private_mount();
}

// The programs of one set of hooks; the tracepoint on TCP state changes is in both.
bool in_socket_hooks(const struct bpf_program* program)
{
  return std::string_view(bpf_program__name(program)) != "tw_sys_exit";
}

bool in_system_call_hooks(const struct bpf_program* program)
{
  const std::string_view name = bpf_program__name(program);
  return name == "tw_sys_exit" || name == "tw_set_state";
}

// Attaches the cgroup programs (bind, post_bind) at the cgroup v2 root; the skeleton
// attaches the tracepoints and detaches everything when destroyed. 0 or -errno, with why.
int attach_cgroup_programs(tw_probe* skel, std::string& why)
{
  auto root = cgroup2_root();
  if (!root) {
    why = root.failure().message;
    return root.error() != 0 ? -root.error() : -ENOENT;
  }
  const UniqueFd fd = std::move(*root);
  const std::array<std::pair<struct bpf_program*, struct bpf_link**>, 4> programs = { {
    { skel->progs.tw_bind4, &skel->links.tw_bind4 },
    { skel->progs.tw_bind6, &skel->links.tw_bind6 },
    { skel->progs.tw_post_bind4, &skel->links.tw_post_bind4 },
    { skel->progs.tw_post_bind6, &skel->links.tw_post_bind6 },
  } };
  for (const auto& [program, link] : programs) {
    // A bpf_link: it runs beside the programs others attached there (BPF_F_ALLOW_MULTI).
    *link = bpf_program__attach_cgroup(program, fd.get());
    if (*link == nullptr) {
      const int err = errno;
      why = "attaching " + std::string(bpf_program__name(program)) +
            " to the cgroup v2 root: " + std::strerror(err);
      return -err;
    }
  }
  return 0;
}

} // namespace

std::unique_ptr<EvidenceProbe::Loaded> EvidenceProbe::load(ProbeHooks hooks,
                                                           std::uint64_t filter_cookie,
                                                           std::string& why)
{
  auto loaded = std::make_unique<Loaded>();
  loaded->skeleton = tw_probe::open();
  if (loaded->skeleton == nullptr) {
    why = std::string("the probe could not be opened (") + std::strerror(errno) + ")";
    return nullptr;
  }
  tw_probe* skel = loaded->skeleton;
  const bool socket = hooks == ProbeHooks::socket;
  skel->rodata->filter_netns_cookie = filter_cookie;
  skel->rodata->socket_hooks = socket;
  struct bpf_program* program = nullptr; // NOLINT(misc-const-correctness): libbpf iterates non-const
  bpf_object__for_each_program(program, skel->obj)
  {
    bpf_program__set_autoload(program, socket ? in_socket_hooks(program) : in_system_call_hooks(program));
  }
  if (const int error = tw_probe::load(skel); error != 0) {
    if (error == -EPERM || (error == -EACCES && ::geteuid() != 0)) { // else EACCES is the verifier's
      why = (socket ? "the socket hooks need root, or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; loading them: "
                    : "the probe needs root, or CAP_BPF and CAP_PERFMON; loading it: ") +
            std::string(std::strerror(-error));
    } else {
      const std::string warning = last_libbpf_warning();
      why = "the kernel refused the probe (" + std::string(std::strerror(-error)) +
            (warning.empty() ? "" : ": " + warning) + ")";
    }
    return nullptr;
  }
  if (const int error = tw_probe::attach(skel); error != 0) {
    why = "the probe could not attach to its tracepoints (" + std::string(std::strerror(-error)) + ")";
    return nullptr;
  }
  if (socket && attach_cgroup_programs(skel, why) != 0) {
    return nullptr;
  }
  return loaded;
}

EvidenceProbe::EvidenceProbe(const ProbeOptions& options)
{
  if (!options.enabled) {
    reason_ = "--no-probe";
    return;
  }
  std::error_code ec;
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux", ec)) {
    reason_ = "the kernel has no BTF (/sys/kernel/btf/vmlinux is absent; CONFIG_DEBUG_INFO_BTF)";
    return;
  }
  const std::uint64_t cookie = options.netns_cookie != 0 ? options.netns_cookie : current_netns_cookie();
  if (cookie == 0) { // the caller's is asked for even with every_namespace: collect() splits by cookie
    reason_ = "the kernel does not name network namespaces by cookie (SO_NETNS_COOKIE, Linux 5.14+)";
    return;
  }
  route_libbpf_logs();
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t filter = options.every_namespace ? 0 : cookie;
  std::string why;
  std::string fallback; // why the socket hooks were not used, when the system-call hook is
  std::unique_ptr<Loaded> loaded;
  if (options.hooks != ProbeHooks::system_call) {
    loaded = load(ProbeHooks::socket, filter, why);
    hooks_ = ProbeHooks::socket;
    if (!loaded && options.hooks == ProbeHooks::automatic) {
      spdlog::debug("probe: the socket hooks did not attach ({}); trying the system-call hook", why);
      fallback = why;
    }
  }
  if (!loaded && options.hooks != ProbeHooks::socket) {
    loaded = load(ProbeHooks::system_call, filter, why);
    hooks_ = ProbeHooks::system_call;
  }
  if (!loaded) {
    hooks_ = ProbeHooks::automatic;
    reason_ = why;
    return;
  }
  loaded->cookie = cookie;
  loaded->since = std::chrono::steady_clock::now();
  load_ms_ = std::chrono::duration<double, std::milli>(loaded->since - start).count();
  const char* where = options.every_namespace ? "every network namespace" : "this network namespace";
  reason_ = hooks_ == ProbeHooks::socket
              ? fmt::format("BPF probe on TCP sockets (state changes, connect and bind hooks) in {}", where)
              : fmt::format("BPF probe on connect(), bind() and TCP state changes in {}", where);
  if (!fallback.empty()) {
    reason_ += " (system-call hook: " + fallback + ")";
  }
  spdlog::debug("probe: loaded and attached in {:.1f} ms, netns cookie {}", load_ms_, cookie);
  loaded_ = std::move(loaded);
}

ProbeHooks EvidenceProbe::hooks() const
{
  return hooks_;
}

EvidenceProbe::~EvidenceProbe() = default;

bool EvidenceProbe::attached() const
{
  return loaded_ != nullptr;
}

const std::string& EvidenceProbe::reason() const
{
  return reason_;
}

double EvidenceProbe::load_ms() const
{
  return load_ms_;
}

namespace {

// The "memlock:" line of /proc/self/fdinfo/FD: what the kernel charges for a map or program.
std::uint64_t memlock_of(int fd)
{
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("memlock:", 0) == 0) {
      return std::strtoull(line.c_str() + 8, nullptr, 10);
    }
  }
  return 0;
}

} // namespace

std::uint64_t EvidenceProbe::kernel_memory_bytes() const
{
  if (!loaded_) {
    return 0;
  }
  std::uint64_t total = 0;
  const struct bpf_object* obj = loaded_->skeleton->obj;
  const struct bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj)
  {
    total += memlock_of(bpf_map__fd(map));
  }
  struct bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj)
  {
    total += memlock_of(bpf_program__fd(prog));
  }
  return total;
}

namespace {

// The evidence in rows read from the maps: with netns_cookie, that namespace's rows only.
SymptomEvidence evidence_of(const EventRows& events,
                            const LatencyRows& latency,
                            std::optional<std::uint64_t> netns_cookie)
{
  SymptomEvidence evidence;
  evidence.source = EvidenceSource::probe;

  // Destinations and local addresses by (family, address bytes, port).
  using Where = std::tuple<int, std::array<std::uint8_t, 16>, std::uint16_t>;
  std::map<Where, SymptomDestination> destinations;
  std::map<Where, SymptomBindFailure> binds;
  std::map<std::uint32_t, std::string> cgroups; // pid -> path, read once per process
  const auto process = [&cgroups](const tw_probe_key& key, const tw_probe_counts& counts) {
    SymptomProcess p;
    p.pid = key.tgid;
    p.comm = comm_of(counts.comm);
    p.cgroup_id = counts.cgroup_id;
    auto [it, fresh] = cgroups.try_emplace(key.tgid);
    if (fresh) {
      it->second = cgroup_of(key.tgid);
    }
    p.cgroup = it->second;
    return p;
  };
  const auto wanted = [&netns_cookie](std::uint64_t cookie) {
    return !netns_cookie || cookie == *netns_cookie;
  };
  // collect() reads both generations, so one key can come twice: its process is listed once.
  std::map<std::tuple<Where, int, std::uint32_t>, std::size_t> listed; // -> index in processes
  const auto add_process = [&](std::vector<SymptomProcess>& to,
                               const tw_probe_key& key,
                               const tw_probe_counts& counts) -> SymptomProcess& {
    const auto [it, fresh] = listed.try_emplace(
      std::tuple(
        Where{ family_of(key.family), address_bytes(key.addr), key.port }, int{ key.kind }, key.tgid),
      to.size());
    if (fresh) {
      to.push_back(process(key, counts));
    }
    return to[it->second];
  };
  for (const auto& [key, counts] : events) {
    if (!wanted(key.netns_cookie)) {
      continue;
    }
    const int family = family_of(key.family);
    const auto addr = address_bytes(key.addr);
    const Where where{ family, addr, key.port };
    if (key.kind == TW_KIND_BIND) {
      SymptomBindFailure& b = binds[Where{ family, addr, 0 }];
      b.local = format_address(family, addr);
      b.family = family_name(key.family);
      b.count += counts.eaddrinuse;
      add_process(b.processes, key, counts).eaddrinuse += counts.eaddrinuse;
      continue;
    }
    SymptomDestination& d = destinations[where];
    d.destination = endpoint_text(family, format_address(family, addr), key.port);
    d.family = family_name(key.family);
    // Handshakes: in their own rows (no process), or in a connect row (the socket hooks).
    d.handshakes_ok += counts.established;
    d.handshakes_failed += counts.failed;
    d.recycled += counts.recycled;
    d.recycled_failed += counts.recycled_failed;
    if (key.kind == TW_KIND_HANDSHAKE) {
      continue;
    }
    d.connect_ok += counts.ok;
    d.connect_eaddrnotavail += counts.eaddrnotavail;
    d.v4_mapped += counts.v4_mapped;
    std::uint64_t calls = counts.ok + counts.eaddrnotavail;
    for (std::size_t i = 0; i < k_error_names.size(); ++i) {
      if (counts.errors[i] > 0) {
        d.connect_errors[k_error_names[i]] += counts.errors[i];
        calls += counts.errors[i];
      }
    }
    SymptomProcess& p = add_process(d.processes, key, counts);
    p.connects += calls;
    p.eaddrnotavail += counts.eaddrnotavail;
  }
  std::map<Where, tw_probe_latency> histograms; // both generations' buckets added up
  for (const auto& [key, histogram] : latency) {
    if (!wanted(key.netns_cookie)) {
      continue;
    }
    tw_probe_latency& sum = histograms[Where{ family_of(key.family), address_bytes(key.addr), key.port }];
    for (std::size_t b = 0; b < TW_LATENCY_BUCKETS; ++b) {
      sum.buckets[b] += histogram.buckets[b];
    }
  }
  for (const auto& [where, histogram] : histograms) {
    const auto it = destinations.find(where);
    if (it == destinations.end()) {
      continue;
    }
    it->second.connect_us_p50 = latency_percentile(histogram.buckets, TW_LATENCY_BUCKETS, 0.50);
    it->second.connect_us_p99 = latency_percentile(histogram.buckets, TW_LATENCY_BUCKETS, 0.99);
  }
  for (auto& [where, d] : destinations) {
    sort_processes(d.processes);
    evidence.destinations.push_back(std::move(d));
  }
  std::stable_sort(evidence.destinations.begin(),
                   evidence.destinations.end(),
                   [](const SymptomDestination& a, const SymptomDestination& b) {
                     return std::pair(a.connect_eaddrnotavail, a.connect_ok + a.handshakes_ok) >
                            std::pair(b.connect_eaddrnotavail, b.connect_ok + b.handshakes_ok);
                   });
  for (auto& [where, b] : binds) {
    sort_processes(b.processes);
    evidence.bind_eaddrinuse.push_back(std::move(b));
  }
  std::stable_sort(
    evidence.bind_eaddrinuse.begin(),
    evidence.bind_eaddrinuse.end(),
    [](const SymptomBindFailure& a, const SymptomBindFailure& b) { return a.count > b.count; });

  return evidence;
}

// The probe's totals since it was attached, the same for every namespace it watches.
void add_probe_totals(SymptomEvidence& evidence, const tw_probe* skel)
{
  for (std::uint32_t index = 0; index < TW_STAT_SLOTS; ++index) {
    __u64 value = 0;
    if (bpf_map__lookup_elem(skel->maps.stats, &index, sizeof(index), &value, sizeof(value), 0) != 0) {
      continue;
    }
    if (index == TW_STAT_DROPPED) {
      evidence.dropped = value;
    } else if (index == TW_STAT_TIME_WAIT_SEEN) {
      evidence.time_wait_seen = value;
    }
  }
  evidence.missed = recursion_misses(skel->obj);
  // The tuple map is an LRU of TW_PROBE_MAX_TIME_WAIT: once more tuples entered TIME_WAIT, the
  // oldest were pushed out, perhaps within their 60 s, so recycled is then a lower bound.
  evidence.time_wait_capped = evidence.time_wait_seen > TW_PROBE_MAX_TIME_WAIT;
}

} // namespace

SymptomEvidence EvidenceProbe::collect(double window_seconds, std::optional<std::uint64_t> netns_cookie) const
{
  if (!loaded_) {
    return counters_evidence(reason_);
  }
  const tw_probe* skel = loaded_->skeleton;
  SymptomEvidence evidence =
    evidence_of(read_map<tw_probe_key, tw_probe_counts>(skel->maps.events, std::nullopt),
                read_map<tw_probe_latency_key, tw_probe_latency>(skel->maps.latency, std::nullopt),
                netns_cookie);
  evidence.reason = reason_;
  evidence.window_seconds = window_seconds;
  add_probe_totals(evidence, skel);
  return evidence;
}

ProbeDrain EvidenceProbe::drain(double window_seconds)
{
  ProbeDrain out;
  if (!loaded_) {
    out.totals = counters_evidence(reason_);
    return out;
  }
  tw_probe* skel = loaded_->skeleton;
  // Switch the programs to the other generation, then wait until none can still be counting into
  // the old one: a map-in-map slot updated from user space returns after an RCU grace period, and
  // each program runs inside one (tw_probe.bpf.c: generation).
  const auto old = static_cast<std::uint8_t>(skel->bss->generation & 1U);
  __atomic_store_n(&skel->bss->generation, old ^ 1U, __ATOMIC_SEQ_CST);
  const __u32 slot = 0;
  const auto inner = static_cast<__u32>(bpf_map__fd(skel->maps.barrier_inner));
  if (bpf_map__update_elem(skel->maps.barrier, &slot, sizeof(slot), &inner, sizeof(inner), BPF_ANY) != 0) {
    // Not expected (the maps were created with the probe); the programs run for microseconds.
    spdlog::warn("probe: the barrier map update failed ({}); waiting 50 ms instead", std::strerror(errno));
    ::usleep(50000);
  }
  // The old generation's rows, by namespace.
  std::map<std::uint64_t, std::pair<EventRows, LatencyRows>> rows;
  for (auto& row : read_map<tw_probe_key, tw_probe_counts>(skel->maps.events, old)) {
    rows[row.first.netns_cookie].first.push_back(row);
  }
  for (auto& row : read_map<tw_probe_latency_key, tw_probe_latency>(skel->maps.latency, old)) {
    rows[row.first.netns_cookie].second.push_back(row);
  }
  out.totals.source = EvidenceSource::probe;
  out.totals.reason = reason_;
  out.totals.window_seconds = window_seconds;
  add_probe_totals(out.totals, skel);
  for (const auto& [cookie, both] : rows) {
    SymptomEvidence evidence = evidence_of(both.first, both.second, std::nullopt);
    evidence.reason = reason_;
    evidence.window_seconds = window_seconds;
    evidence.dropped = out.totals.dropped;
    evidence.missed = out.totals.missed;
    evidence.time_wait_seen = out.totals.time_wait_seen;
    evidence.time_wait_capped = out.totals.time_wait_capped;
    out.namespaces.emplace(cookie, std::move(evidence));
  }
  return out;
}

std::uint64_t EvidenceProbe::netns_cookie() const
{
  return loaded_ ? loaded_->cookie : 0;
}

} // namespace tw
