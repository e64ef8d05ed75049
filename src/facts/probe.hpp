#pragma once

#include "model/symptoms.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tw {

// Which hooks count connect() and bind() (facts/bpf/tw_probe.bpf.c says what each sees).
enum class ProbeHooks
{
  automatic,   // the socket hooks, or the system-call hook where those cannot attach
  socket,      // TCP state changes and cgroup bind hooks: cheap, no errno before SYN_SENT
  system_call, // sys_exit: exact errno, but every system call on the host takes the slow path
};

// How the evidence probe is asked for.
struct ProbeOptions
{
  bool enabled = true;            // false: --no-probe
  std::uint64_t netns_cookie = 0; // count only this network namespace (0: the caller's)
  bool every_namespace = false;   // count every namespace (collect() then splits them by cookie)
  ProbeHooks hooks = ProbeHooks::automatic;
};

// What one EvidenceProbe::drain() took out of the probe's maps.
struct ProbeDrain
{
  std::map<std::uint64_t, SymptomEvidence> namespaces; // by netns cookie: the namespaces with rows
  // For a namespace without rows: the source, reason and the probe's totals since it was attached
  // (dropped, missed, time_wait_seen, which every namespace's evidence carries too).
  SymptomEvidence totals;
};

// The BPF evidence probe (facts/bpf/tw_probe.bpf.c): while attached it counts connect() results
// and time, bind(port 0) EADDRINUSE, and handshakes that recycle a TIME_WAIT tuple, for one
// network namespace. Starting it never throws: without privileges (root, or CAP_BPF and
// CAP_PERFMON), without kernel BTF, or when disabled, attached() is false and reason() says why.
class EvidenceProbe
{
public:
  // Loads and attaches the probe (about 0.1 s); detached when destroyed.
  explicit EvidenceProbe(const ProbeOptions& options);
  ~EvidenceProbe();
  EvidenceProbe(const EvidenceProbe&) = delete;
  EvidenceProbe& operator=(const EvidenceProbe&) = delete;

  bool attached() const;
  // Why the probe is not attached ("--no-probe", "no CAP_BPF ..."), or what it watches.
  const std::string& reason() const;
  // The hooks that count connect() and bind(): socket or system_call (automatic when not attached).
  ProbeHooks hooks() const;
  // Milliseconds that loading and attaching took (0 when not attached).
  double load_ms() const;
  // Kernel memory the probe's maps and programs hold (the memlock the kernel charges, from
  // /proc/self/fdinfo), in bytes; 0 when not attached.
  std::uint64_t kernel_memory_bytes() const;

  // What the probe counted since it was attached, as evidence over window_seconds; with
  // netns_cookie, only that namespace's rows (a probe attached with every_namespace). Without the
  // probe: source counters, the reason, no destinations.
  SymptomEvidence collect(double window_seconds,
                          std::optional<std::uint64_t> netns_cookie = std::nullopt) const;

  // What the probe counted since the previous drain() (since it was attached, the first time),
  // per namespace, and those rows are taken out of its maps, so that a long-running reader (the
  // monitor) keeps its own totals and the bounded maps hold one interval, not the probe's whole
  // life. The programs count into one of two generations of rows; drain() switches them to the
  // other and waits out an RCU grace period before it reads and deletes the old one, so no
  // increment is lost or lands in another row. Without the probe: no namespaces, and totals is
  // counters evidence with the reason.
  ProbeDrain drain(double window_seconds);

  // The namespace cookie the probe was attached for (0 when not attached).
  std::uint64_t netns_cookie() const;

private:
  struct Loaded;
  // Opens, loads and attaches the probe with one set of hooks (socket or system_call). On
  // failure: null, and why.
  static std::unique_ptr<Loaded> load(ProbeHooks hooks, std::uint64_t filter_cookie, std::string& why);
  std::unique_ptr<Loaded> loaded_;
  std::string reason_;
  double load_ms_ = 0.0;
  ProbeHooks hooks_ = ProbeHooks::automatic;
};

// The network namespace cookie of the caller (SO_NETNS_COOKIE, Linux 5.14+); 0 when unknown.
std::uint64_t current_netns_cookie();

// The percentile (0..1) of a log-linear connect() time histogram (facts/bpf/probe_abi.h) as the
// upper bound of its bucket in microseconds; nullopt for an empty histogram.
std::optional<double> latency_percentile(const std::uint32_t* buckets, std::size_t count, double quantile);

} // namespace tw
