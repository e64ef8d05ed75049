// tw-probe-bench: what the BPF evidence probe costs the connect() path (bench/probe runs it in a
// network namespace of its own). Run as root inside that namespace:
//
//   tw-probe-bench [--rounds N] [--seconds S] [--port P]
//
// A loopback server thread accepts and closes; one client thread connect()s and closes as fast as
// it can, in two workloads: "rst" (the client aborts: SO_LINGER 0, no TIME_WAIT anywhere, the
// probe's connect() path alone) and "time-wait" (the client closes first: every connection also
// enters TIME_WAIT and, once the range is full, connect() recycles TIME_WAIT tuples, so every
// probe hook runs); and a third, "pipe", that never touches TCP (a write and read of 64 bytes on a
// pipe): what the probe costs every other program on the host. Rounds rotate through no probe, the probe with
// its socket hooks (the default) and with its system-call hook (loaded anew each time, filtering this
// namespace), S seconds each, and the median of each round's ratio to the round without the probe beside it
// is reported. It also reports the probe's load+attach time (one per attached round) and the kernel memory of
// its maps and programs, and, in one more run of each workload after the rounds with the kernel's
// BPF run-time statistics on, how often each of the socket hooks' programs ran per operation and
// how long they took ("cost" lines). Prints one "key value" line per figure (bench/probe turns them into
// doc/performance.md's section); exit 0 when measured, 1 when the probe could not attach, 2 on bad arguments.
#include "facts/probe.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <bpf/bpf.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args
{
  int rounds = 10;
  double seconds = 1.0;
  int port = 18080;
};

[[noreturn]] void usage(const std::string& why)
{
  std::fprintf(
    stderr, "tw-probe-bench: %s\nusage: tw-probe-bench [--rounds N] [--seconds S] [--port P]\n", why.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv)
{
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (i + 1 >= argc) {
      usage(f + " needs a value");
    }
    const char* v = argv[++i];
    if (f == "--rounds") {
      a.rounds = std::atoi(v);
    } else if (f == "--seconds") {
      a.seconds = std::atof(v);
    } else if (f == "--port") {
      a.port = std::atoi(v);
    } else {
      usage("unknown flag " + f);
    }
  }
  if (a.rounds < 1 || a.rounds > 100 || a.seconds <= 0.0 || a.seconds > 60.0 || a.port < 1 ||
      a.port > 65535) {
    usage("--rounds 1..100, --seconds (0, 60], --port 1..65535");
  }
  return a;
}

sockaddr_in loopback(int port)
{
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

// Accepts and closes until stopped (the listening socket is shut down to stop it).
class Server
{
public:
  explicit Server(int port)
  {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in sa = loopback(port);
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(m_fd, 4096) != 0) {
      std::fprintf(stderr, "tw-probe-bench: listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
      std::exit(1);
    }
    m_thread = std::thread([this] {
      while (true) {
        const int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
          if (errno == EINTR || errno == ECONNABORTED) {
            continue;
          }
          return;
        }
        // Wait for the client's FIN or RST, so the client side closes first.
        char buf[64];
        while (::read(c, buf, sizeof buf) > 0) {
        }
        ::close(c);
      }
    });
  }
  ~Server()
  {
    ::shutdown(m_fd, SHUT_RDWR);
    m_thread.join();
    ::close(m_fd);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

private:
  int m_fd = -1;
  std::thread m_thread;
};

// What one round measured: completed connections per second of wall time, and the CPU time (user +
// system, of this process: client and server threads, and the probe's programs, which run in their
// syscalls) per connection, which other work on a shared machine disturbs less.
struct Round
{
  double per_second = 0.0;
  double cpu_us_per_connect = 0.0;
};

double cpu_seconds()
{
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// Runs step() until `seconds` have passed; step returns how many operations it completed.
template<typename Step>
Round timed(double seconds, Step step)
{
  const auto end =
    Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::uint64_t done = 0;
  const double cpu0 = cpu_seconds();
  const auto start = Clock::now();
  while (Clock::now() < end) {
    done += step();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu0;
  Round r;
  r.per_second = static_cast<double>(done) / wall;
  r.cpu_us_per_connect = done == 0 ? 0.0 : cpu * 1e6 / static_cast<double>(done);
  return r;
}

// A program that never touches TCP: 64 bytes written to a pipe and read back, for `seconds`. What
// the probe costs every other program on the host (per write+read pair).
Round pipe_loop(double seconds)
{
  int fds[2] = { -1, -1 };
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "tw-probe-bench: pipe: %s\n", std::strerror(errno));
    std::exit(1);
  }
  char buf[64] = {};
  const Round r = timed(seconds, [&] {
    std::uint64_t done = 0;
    for (int i = 0; i < 64; ++i) { // the clock read costs a vDSO call, not a system call
      if (::write(fds[1], buf, sizeof buf) == static_cast<ssize_t>(sizeof buf) &&
          ::read(fds[0], buf, sizeof buf) == static_cast<ssize_t>(sizeof buf)) {
        ++done;
      }
    }
    return done;
  });
  ::close(fds[0]);
  ::close(fds[1]);
  return r;
}

// Connects and closes for `seconds`.
Round churn(int port, bool rst, double seconds)
{
  const sockaddr_in sa = loopback(port);
  return timed(seconds, [&]() -> std::uint64_t {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return 0;
    }
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    if (rst) {
      const linger l{ 1, 0 };
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
    return ok ? 1 : 0;
  });
}

// Run count and run time of every BPF program loaded on the machine, by program id, from the
// kernel's run-time statistics (counted only while statistics are enabled).
struct ProgramRuns
{
  std::string name;
  std::uint64_t runs = 0;
  std::uint64_t ns = 0;
};
std::map<std::uint32_t, ProgramRuns> program_runs()
{
  std::map<std::uint32_t, ProgramRuns> all;
  std::uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
      continue;
    }
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
      all[id] = ProgramRuns{ info.name, info.run_cnt, info.run_time_ns };
    }
    ::close(fd);
  }
  return all;
}

// Where the socket hooks' time goes: with the kernel's BPF run-time statistics enabled (through a
// BPF_ENABLE_STATS file descriptor, no sysctl: they stop when it closes, at the latest when this
// process exits), one `seconds` run of a workload with the probe attached; prints each of the
// probe's programs' runs and nanoseconds per operation. Statistics cost every BPF program on the
// machine two clock reads per run, so this runs after the timed rounds, never during them.
void program_costs(const char* workload, double seconds, const std::function<Round(double)>& run)
{
  const int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats < 0) {
    std::fprintf(stderr, "tw-probe-bench: BPF run-time statistics: %s\n", std::strerror(errno));
    return;
  }
  const auto before = program_runs();
  {
    tw::ProbeOptions options;
    options.hooks = tw::ProbeHooks::socket;
    const tw::EvidenceProbe probe(options);
    if (probe.attached()) {
      const auto loaded = program_runs();
      const Round m = run(seconds);
      const double ops = m.per_second * seconds;
      std::uint64_t total_runs = 0;
      std::uint64_t total_ns = 0;
      for (const auto& [id, p] : program_runs()) {
        if (before.count(id) != 0 || loaded.count(id) == 0 || ops <= 0.0) {
          continue; // not the probe's
        }
        total_runs += p.runs;
        total_ns += p.ns;
        std::printf("cost %s %s runs_each %.2f ns_each %.0f\n",
                    workload,
                    p.name.c_str(),
                    static_cast<double>(p.runs) / ops,
                    static_cast<double>(p.ns) / ops);
      }
      if (ops > 0.0) {
        std::printf("%s_program_runs_each %.2f\n%s_program_ns_each %.0f\n",
                    workload,
                    static_cast<double>(total_runs) / ops,
                    workload,
                    static_cast<double>(total_ns) / ops);
      }
    }
  }
  ::close(stats);
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// What a round runs beside: no probe, the probe with its socket hooks (the default), or with its
// system-call hook.
struct Config
{
  const char* name;
  std::optional<tw::ProbeHooks> hooks; // nullopt: no probe
};
constexpr std::array<Config, 3> k_configs = { { { "without", std::nullopt },
                                                { "socket", tw::ProbeHooks::socket },
                                                { "syscall", tw::ProbeHooks::system_call } } };

} // namespace

int main(int argc, char** argv)
{
  const Args a = parse(argc, argv);
  const Server server(a.port);
  std::array<std::vector<double>, k_configs.size()> load_ms;
  std::uint64_t memory = 0;
  enum class Workload
  {
    rst,
    time_wait,
    pipe
  };
  for (const Workload workload : { Workload::rst, Workload::time_wait, Workload::pipe }) {
    const bool rst = workload == Workload::rst;
    const char* name = rst ? "rst" : workload == Workload::time_wait ? "time-wait" : "pipe";
    const auto run = [&](double seconds) {
      return workload == Workload::pipe ? pipe_loop(seconds) : churn(a.port, rst, seconds);
    };
    std::array<std::vector<double>, k_configs.size()> rate;
    std::array<std::vector<double>, k_configs.size()> cpu;
    // Warm up; for time-wait, long enough to fill the port range, so that every round runs in the
    // steady state where connect() recycles TIME_WAIT tuples.
    run(workload == Workload::time_wait ? 5.0 : 1.0);
    for (int r = 0; r < a.rounds; ++r) {
      // Rotate the order (without-socket-syscall, socket-syscall-without, ...) so that a drift
      // over the run cancels out.
      for (std::size_t step = 0; step < k_configs.size(); ++step) {
        const std::size_t c = (step + static_cast<std::size_t>(r)) % k_configs.size();
        const Config& config = k_configs[c];
        std::optional<tw::EvidenceProbe> probe;
        if (config.hooks) {
          tw::ProbeOptions options;
          options.hooks = *config.hooks;
          probe.emplace(options);
          if (!probe->attached()) {
            std::fprintf(stderr, "tw-probe-bench: the probe did not attach: %s\n", probe->reason().c_str());
            return 1;
          }
          load_ms[c].push_back(probe->load_ms());
          memory = std::max(memory, probe->kernel_memory_bytes());
        }
        const Round m = run(a.seconds);
        rate[c].push_back(m.per_second);
        cpu[c].push_back(m.cpu_us_per_connect);
        std::printf(
          "round %s %d %s %.0f/s %.2f us\n", name, r + 1, config.name, m.per_second, m.cpu_us_per_connect);
      }
    }
    for (std::size_t c = 0; c < k_configs.size(); ++c) {
      std::printf("%s_%s_per_second %.0f\n", name, k_configs[c].name, median(rate[c]));
      std::printf("%s_%s_cpu_us %.2f\n", name, k_configs[c].name, median(cpu[c]));
      if (c == 0) {
        continue;
      }
      // Each round's ratio to the round without the probe next to it, then their median: the
      // machine's own drift (seconds-long swings of 20% on a shared VM) mostly cancels in a pair.
      std::vector<double> rate_ratio;
      std::vector<double> cpu_ratio;
      for (std::size_t r = 0; r < rate[c].size(); ++r) {
        rate_ratio.push_back(rate[c][r] / rate[0][r]);
        cpu_ratio.push_back(cpu[c][r] / cpu[0][r]);
      }
      std::printf("%s_%s_throughput_ratio %.4f\n", name, k_configs[c].name, median(rate_ratio));
      std::printf("%s_%s_cpu_ratio %.4f\n", name, k_configs[c].name, median(cpu_ratio));
    }
    program_costs(name, a.seconds, run);
  }
  std::printf("rounds %d\nseconds %.1f\n", a.rounds, a.seconds);
  for (std::size_t c = 1; c < k_configs.size(); ++c) {
    const auto& ms = load_ms[c];
    std::printf("%s_load_ms_median %.1f\n%s_load_ms_min %.1f\n%s_load_ms_max %.1f\n",
                k_configs[c].name,
                median(ms),
                k_configs[c].name,
                *std::min_element(ms.begin(), ms.end()),
                k_configs[c].name,
                *std::max_element(ms.begin(), ms.end()));
  }
  std::printf("kernel_memory_bytes %llu\n", static_cast<unsigned long long>(memory));
  return 0;
}
