#include "facts/node.hpp"

#include "facts/census.hpp"
#include "facts/counters.hpp"
#include "facts/ehash_walk.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/oci_bundles.hpp"
#include "facts/probe.hpp"
#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/pause_point.hpp"
#include "util/strings.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/stat.h>

namespace tw {

namespace {

// Why a node run names no processes: the bound is one /proc walk per run.
constexpr const char* k_owners_off_node = "not with --all-netns (one /proc walk per run: use --netns NAME)";

// TIME_WAIT sockets of the calling thread's namespace as the kernel counts them (the "tw" of
// /proc/net/sockstat: every timewait socket, FIN_WAIT2 ones included); nullopt when unreadable.
std::optional<std::uint64_t> sockstat_time_wait()
{
  const auto read = read_file("/proc/thread-self/net/sockstat");
  if (!read) {
    return std::nullopt;
  }
  const Counters c = parse_sockstat(*read, "sockstat", "sockstat");
  const auto it = c.values.find("sockstat.tw");
  return it == c.values.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
}

// True when the calling thread's namespace uses the host's established hash: a namespace made
// with net.ipv4.tcp_child_ehash_entries set has its own table, which tcp_ehash_entries shows as
// a positive size (negative: the shared one). The host's own value is positive and is the
// shared table; without the sysctl (before Linux 6.1) every namespace shares it.
bool uses_shared_hash(bool is_host)
{
  if (is_host) {
    return true;
  }
  const SysctlValue v = read_sysctl(proc_sys_dir(), "net.ipv4.tcp_ehash_entries");
  if (v.status != ReadStatus::ok) {
    return true;
  }
  const auto n = parse_int(v.value);
  return !n || *n < 0;
}

// A namespace being read by the walk: its census so far (listeners in) and the self-check's
// first reading.
struct WalkEntry
{
  std::unique_ptr<CensusAggregator> agg;
  std::optional<std::uint64_t> sockstat_before;
  std::uint64_t walked_time_wait = 0;
  bool served = false; // the walk covered it (shared table, listeners read)
  std::string why_not; // why it is read by sock_diag instead
};

// Enters info (checking it is still the namespace that was listed) and calls visit; else skip.
void visit_one(NetnsInfo& info,
               const std::function<void(NetnsInfo&)>& visit,
               const std::function<void(const NetnsInfo&, const std::string&)>& skip)
{
  const UniqueFd fd(::open(info.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    skip(info, info.path + ": " + errno_text(errno) + " (gone during the run)");
    return;
  }
  struct stat st
  {};
  if (::fstat(fd.get(), &st) != 0 || st.st_ino != info.inode) {
    skip(info, info.path + " now names another namespace (the first one is gone)");
    return;
  }
  try {
    const NetnsSwitch inside(fd.get(), "network namespace " + info.name);
    info.cookie = current_netns_cookie();
    visit(info);
  } catch (const Error& e) {
    skip(info, e.what());
  }
}

// The census options of the calling thread's namespace (its port range and reserved ports) for
// a node census.
CensusOptions namespace_census_options(const NodeCensusOptions& options)
{
  CensusOptions census = census_options_from(read_census_sysctls());
  census.top_n = options.top_n;
  census.want_timestamps = options.want_timestamps;
  census.owners_off = k_owners_off_node;
  return census;
}

// The self-check of one namespace: the walk's TIME_WAIT count against the kernel's own count
// before and after it, with room for what came and went meanwhile. Empty when it passes.
std::string self_check(const WalkEntry& e, std::optional<std::uint64_t> after)
{
  if (!e.sockstat_before || !after) {
    return {}; // nothing to check against (sockstat unreadable): the walk stands
  }
  const std::uint64_t lo = std::min(*e.sockstat_before, *after);
  const std::uint64_t hi = std::max(*e.sockstat_before, *after);
  const std::uint64_t slack = 8 + hi / 50;
  if (e.walked_time_wait + slack >= lo && e.walked_time_wait <= hi + slack) {
    return {};
  }
  return "the BPF walk counted " + std::to_string(e.walked_time_wait) +
         " TIME_WAIT sockets where /proc/net/sockstat said " + std::to_string(*e.sockstat_before) + ".." +
         std::to_string(*after);
}

} // namespace

void require_netns_switching(const std::string& option)
{
  // setns into the namespace we are already in checks the same capability as any other.
  const UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) {
    throw Error(option, "/proc/thread-self/ns/net: " + errno_text(errno));
  }
  try {
    const NetnsSwitch probe(self.get(), option);
  } catch (const Error&) {
    throw Error(option,
                "needs root: entering each network namespace takes CAP_SYS_ADMIN (setns). Without it, the "
                "command still judges the namespace it runs in");
  }
}

void for_each_netns(const std::function<void(NetnsInfo&)>& visit,
                    const std::function<void(const NetnsInfo&, const std::string&)>& skip,
                    std::vector<std::string>& notes)
{
  for (auto& info : list_netns(notes)) {
    visit_one(info, visit, skip);
  }
}

void for_each_netns_census(const NodeCensusOptions& options,
                           std::vector<NetnsInfo>& listed,
                           const std::function<void(NetnsInfo&, NamespaceRead)>& visit,
                           const std::function<void(const NetnsInfo&, const std::string&)>& skip,
                           NodeSocketRead& read)
{
  read = NodeSocketRead{};
  const auto option = [&options] { return std::string("--socket-reader ") + to_string(options.reader); };
  std::optional<EhashWalker> walker;
  if (options.reader != SocketReader::sock_diag) {
    walker.emplace();
    if (!walker->ok()) {
      if (options.reader != SocketReader::automatic) {
        throw Error(option(), "the BPF programs could not load: " + walker->reason());
      }
      read.reason = "the BPF programs could not load: " + walker->reason();
      walker.reset();
    } else if (!walker->can_walk()) {
      if (options.reader == SocketReader::bpf_walk) {
        throw Error(option(), walker->walk_reason());
      }
      read.reason = walker->walk_reason();
    }
  } else {
    read.reason = option();
  }
  if (walker) {
    read.reader = SocketReader::bpf_iter; // until the walk runs
    if (options.reader == SocketReader::bpf_iter) {
      read.reason = option();
    }
  }

  // Phase 1, walk only: in each namespace, its census options and listeners, and the kernel's
  // TIME_WAIT count for the self-check.
  std::map<std::uint64_t, WalkEntry> entries;
  const std::uint64_t host_inode = host_netns_inode();
  if (walker && walker->can_walk() && options.reader != SocketReader::bpf_iter) {
    const bool shared_here = uses_shared_hash(current_netns_inode() == host_inode);
    for (auto& info : listed) {
      visit_one(
        info,
        [&](NetnsInfo& here) {
          WalkEntry e;
          e.agg = std::make_unique<CensusAggregator>(namespace_census_options(options));
          if (!shared_here || !uses_shared_hash(here.kind == NetnsKind::host)) {
            e.why_not = "it has its own TCP hash table (net.ipv4.tcp_child_ehash_entries)";
          } else if (auto err = add_listeners(*e.agg); !err.empty()) {
            e.why_not = "its listening sockets: " + err;
          } else {
            e.served = true;
            e.sockstat_before = sockstat_time_wait();
          }
          entries.emplace(here.cookie, std::move(e));
        },
        [](const NetnsInfo&, const std::string&) {}); // phase 2 says it, when it is still gone
    }
    // Phase 2: one pass over the shared table, each socket to its namespace's census.
    std::uint64_t unlisted = 0;
    const EhashWalkResult walked =
      walker->walk(options.want_timestamps, [&](std::uint64_t netns, const SockRecord& rec, bool timewait) {
        const auto it = entries.find(netns);
        if (it == entries.end() || !it->second.served) {
          ++unlisted;
          return;
        }
        it->second.agg->add_socket(rec);
        it->second.walked_time_wait += timewait ? 1 : 0;
      });
    spdlog::debug("walk: {} sockets ({} of namespaces not listed or not served) in {} buckets, {} runs, {} "
                  "restarts, {:.1f} ms",
                  walked.sockets,
                  unlisted,
                  walked.buckets,
                  walked.runs,
                  walked.restarts,
                  walked.ms);
    if (walked.ok) {
      read.reader = SocketReader::bpf_walk;
      read.unlisted_sockets = unlisted;
      read.walked_sockets = walked.sockets;
      read.walk_runs = walked.runs;
      read.walk_ms = walker->load_ms() + walked.ms;
    } else {
      if (options.reader == SocketReader::bpf_walk) {
        throw Error(option(), "the BPF walk failed: " + walked.error);
      }
      read.reason = "the BPF walk failed: " + walked.error;
      entries.clear();
    }
  }

  pause_point("netns-walked");

  // Phase 3: each namespace, with the walk's census where it served and passed its check.
  for (auto& info : listed) {
    visit_one(
      info,
      [&](NetnsInfo& here) {
        NamespaceRead ns;
        bool walked = false;
        const auto it = entries.find(here.cookie);
        if (it != entries.end() && it->second.served) {
          if (auto failed = self_check(it->second, sockstat_time_wait()); failed.empty()) {
            ns.census = it->second.agg->finish();
            ns.reader = SocketReader::bpf_walk;
            walked = true;
          } else {
            ns.note = std::move(failed);
          }
        } else if (it != entries.end()) {
          ns.note = "not in the shared TCP hash: " + it->second.why_not;
        }
        if (!walked && walker) { // the kernel's TCP iterator, this namespace alone
          CensusAggregator agg(namespace_census_options(options));
          std::string failed = add_listeners(agg);
          if (failed.empty()) {
            const EhashWalkResult r =
              walker->read_netns(options.want_timestamps,
                                 [&agg](std::uint64_t, const SockRecord& rec, bool) { agg.add_socket(rec); });
            failed = r.ok ? "" : r.error;
          }
          if (failed.empty()) {
            ns.census = agg.finish();
            ns.reader = SocketReader::bpf_iter;
            walked = true;
          } else {
            ns.note += (ns.note.empty() ? "" : "; ") + std::string("the BPF TCP iterator failed: ") + failed;
          }
        }
        if (!walked) {
          ns.census = take_census(namespace_census_options(options));
        }
        if (ns.reader != read.reader) {
          ++read.fell_back;
          ns.note += std::string(ns.note.empty() ? "" : "; ") + "read by " +
                     (ns.reader == SocketReader::bpf_iter ? "the BPF TCP iterator" : "sock_diag");
          read.others.push_back(here.name + ": " + ns.note);
        }
        if (!ns.note.empty() && ns.census.available) {
          ns.census.notes.push_back(ns.note);
        }
        visit(here, std::move(ns));
      },
      skip);
  }
}

NodeFacts gather_node(const GatherOptions& options, SocketReader reader)
{
  using Clock = std::chrono::steady_clock;
  NodeFacts node;
  node.hostname = current_hostname();
  std::vector<NetnsInfo> listed = list_netns(node.notes);
  pause_point("netns-listed");

  // --sample: one window for the whole node. One probe watches every namespace (its rows carry
  // the namespace's cookie); each namespace's counters are read when the window opens and again
  // when its facts are gathered.
  struct Opened
  {
    Counters before;
    Clock::time_point at;
  };
  std::map<std::uint64_t, Opened> opened;            // by inode
  std::map<std::uint64_t, SymptomEvidence> evidence; // by cookie
  const bool sampling = options.sample_seconds > 0.0;
  if (sampling) {
    std::optional<EvidenceProbe> probe;
    if (options.probe) {
      probe.emplace(ProbeOptions{ .enabled = true, .netns_cookie = 0, .every_namespace = true });
      spdlog::debug("probe: {} ({:.1f} ms)", probe->reason(), probe->load_ms());
    }
    const auto start = Clock::now();
    for (auto& info : listed) {
      visit_one(
        info,
        [&](NetnsInfo& here) {
          opened[here.inode] = { read_counters(options.proc_root), Clock::now() };
        },
        [](const NetnsInfo&, const std::string&) {}); // said when it is visited
    }
    options.sleep(std::chrono::milliseconds(static_cast<std::int64_t>(options.sample_seconds * 1000.0)));
    const double window = std::chrono::duration<double>(Clock::now() - start).count();
    for (const auto& info : listed) {
      if (info.cookie != 0) {
        evidence[info.cookie] = probe ? probe->collect(window, info.cookie) : counters_evidence("--no-probe");
      }
    }
    // Namespaces that appeared during the window (a pod that started): judged too, without rates.
    std::vector<std::string> unused;
    for (auto& info : list_netns(unused)) {
      const bool known = std::any_of(
        listed.begin(), listed.end(), [&info](const NetnsInfo& l) { return l.inode == info.inode; });
      if (!known) {
        listed.push_back(std::move(info));
      }
    }
  } // the probe is detached here, before the sockets are read

  // The runtimes' bundles are read once for every namespace (each a pod's, on a node).
  std::shared_ptr<const OciBundles> bundles = options.oci_bundles;
  if (options.read_boot && !bundles) {
    bundles = std::make_shared<const OciBundles>(read_oci_bundles(options.root, options.proc_root));
  }
  for_each_netns_census(
    { .top_n = 20, .want_timestamps = true, .reader = reader },
    listed,
    [&](NetnsInfo& info, NamespaceRead read) {
      GatherOptions here = options;
      here.oci_bundles = bundles;
      here.netns = info;
      here.census = std::move(read.census);
      if (sampling) {
        const auto it = opened.find(info.inode);
        const auto ev = evidence.find(info.cookie);
        if (it != opened.end() && ev != evidence.end()) {
          const double seconds = std::chrono::duration<double>(Clock::now() - it->second.at).count();
          here.window = GatherOptions::OpenWindow{ std::move(it->second.before), seconds, ev->second };
        } else { // it appeared after the window opened: no rates, no probe rows of its own
          here.window = GatherOptions::OpenWindow{
            Counters{}, 0.0, counters_evidence("the namespace appeared after the --sample window opened")
          };
        }
      }
      spdlog::debug("node: gathering {} ({})", info.name, info.inode);
      node.namespaces.push_back({ info, gather_facts(here), {}, read.reader });
    },
    [&](const NetnsInfo& info, const std::string& why) {
      node.namespaces.push_back({ info, std::nullopt, why });
    },
    node.sockets);
  return node;
}

NodeCensus census_node(const NodeCensusOptions& options)
{
  NodeCensus node;
  node.hostname = current_hostname();
  std::vector<NetnsInfo> listed = list_netns(node.notes);
  pause_point("netns-listed");
  for_each_netns_census(
    options,
    listed,
    [&](NetnsInfo& info, NamespaceRead read) {
      if (!read.census.available) {
        node.namespaces.push_back({ info, std::nullopt, "socket census: " + read.census.error, read.reader });
      } else {
        node.namespaces.push_back({ info, std::move(read.census), {}, read.reader });
      }
    },
    [&](const NetnsInfo& info, const std::string& why) {
      node.namespaces.push_back({ info, std::nullopt, why });
    },
    node.sockets);
  const auto pressure = [](const NamespaceCensus& c) {
    const DestGroup* top = c.census ? most_pressured(*c.census) : nullptr;
    return top != nullptr ? top->pressure : 0.0;
  };
  const auto time_wait = [](const NamespaceCensus& c) {
    return c.census ? c.census->states[static_cast<std::size_t>(TcpState::time_wait)] : 0;
  };
  std::stable_sort(node.namespaces.begin(), node.namespaces.end(), [&](const auto& a, const auto& b) {
    if (pressure(a) != pressure(b)) {
      return pressure(a) > pressure(b);
    }
    return time_wait(a) > time_wait(b);
  });
  return node;
}

} // namespace tw
