// tw-twgen: makes many TIME_WAIT sockets fast, for the benchmark (bench/run). Run it inside a
// network namespace the harness made, where 198.18.0.0/15 is routed as local on lo:
//   ip route add local 198.18.0.0/15 dev lo
//   sysctl -w net.ipv4.tcp_max_tw_buckets=2000000 "net.ipv4.ip_local_port_range=10000 65535"
//              net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
//
//   tw-twgen tcp --count N [--workers W] [--sources S] [--ports P] [--inbound-pct X]
//                [--established E] [--listeners L] [--inflight K] [--max-seconds T]
//                [--hold SECONDS] [--ready-file PATH]
//       Makes N connections over loopback and closes them so that each leaves exactly one
//       TIME_WAIT socket. Connection i binds 198.18.1.0+(i mod S) : 10000+(i div S) (inside
//       the ephemeral range, so the census sees a connect()-ing client) and connects to
//       198.19.0.1 : one of P ports per worker (below 10000, outside the range). X percent of
//       them are closed by the server first (inbound TIME_WAIT on the listening port), the rest
//       by the client first (outbound TIME_WAIT). W worker processes share the work, each with
//       its own epoll loop and listeners and at most K connections in flight. Beside them it
//       holds E ESTABLISHED pairs and L idle listeners (ports 7000..) until the hold ends.
//       When the TIME_WAIT sockets are made it writes one line to the ready file (and stdout):
//         created=N failed=N seconds=S first_error=TEXT
//       then holds the ESTABLISHED/LISTEN sockets for --hold seconds (default 300, at most
//       900) or until SIGTERM/SIGINT. Creation stops after --max-seconds (default 120).
//
//   tw-twgen udp --count N [--first I] [--max-seconds T]
//       Sends N UDP datagrams from 198.18.0.2 to distinct destinations 198.19.x.y:port, flows
//       I..I+N-1 (one conntrack entry each where conntrack is active; a later call with
//       --first adds new ones). Prints sent=N seconds=S, then exits.
//
// Exit status: 0 when the work was done (failures are counted, not fatal), 1 when setup
// failed (listen, epoll), 2 on bad arguments.
// The flag reading is shared with the live tests' generator; bench/run builds this file with
// plain g++ and no -I, hence the relative path.
#include "../tests/tools/gen_args.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int k_max_workers = 16;

volatile std::sig_atomic_t g_stop = 0;
// The parent forwards SIGTERM/SIGINT to its workers so a stop never waits for their deadline.
pid_t g_workers[k_max_workers] = {};
volatile std::sig_atomic_t g_worker_count = 0;

void on_signal(int /*sig*/)
{
  g_stop = 1;
  for (int w = 0; w < g_worker_count; ++w) {
    kill(g_workers[w], SIGTERM); // async-signal-safe
  }
}

constexpr std::uint32_t k_source_base = 0xC6120100;  // 198.18.1.0: client source addresses
constexpr std::uint32_t k_dest_addr = 0xC6130001;    // 198.19.0.1: the listeners
constexpr std::uint32_t k_udp_source = 0xC6120002;   // 198.18.0.2
constexpr std::uint32_t k_udp_dest_net = 0xC6130000; // 198.19.0.0/16
constexpr int k_source_port_base = 10000;            // ip_local_port_range starts here
constexpr int k_source_ports = 65536 - k_source_port_base;
constexpr int k_listen_port_base = 8000; // worker w listens on 8000 + w*2P ...
constexpr int k_idle_listener_base = 7000;
constexpr int k_established_port = 7999;
struct Args
{
  std::string mode;
  long count = 0;
  long workers = 2;
  long sources = 256;
  long ports = 4;
  long inbound_pct = 20;
  long established = 1000;
  long listeners = 32;
  long inflight = 1024;
  long max_seconds = 120;
  long hold = 300;
  long first = 0; // udp: index of the first flow, so a second call adds new flows
  std::string ready_file;
};

constexpr tw::tools::Usage k_usage{
  "tw-twgen",
  "usage: tw-twgen tcp --count N [--workers W] [--sources S] [--ports P] [--inbound-pct X]\n"
  "                    [--established E] [--listeners L] [--inflight K] [--max-seconds T]\n"
  "                    [--hold SECONDS] [--ready-file PATH]\n"
  "       tw-twgen udp --count N [--first I] [--max-seconds T]\n"
};

Args parse(int argc, char** argv)
{
  tw::tools::ArgReader r(argc, argv, k_usage, { "tcp", "udp" });
  Args a;
  a.mode = r.mode();
  while (r.next()) {
    const std::string& f = r.flag();
    if (f == "--count") {
      a.count = r.number(1, 4000000);
    } else if (f == "--workers") {
      a.workers = r.number(1, k_max_workers);
    } else if (f == "--sources") {
      a.sources = r.number(1, 65000);
    } else if (f == "--ports") {
      a.ports = r.number(1, 30);
    } else if (f == "--inbound-pct") {
      a.inbound_pct = r.number(0, 100);
    } else if (f == "--established") {
      a.established = r.number(0, 20000);
    } else if (f == "--listeners") {
      a.listeners = r.number(0, 900);
    } else if (f == "--inflight") {
      a.inflight = r.number(1, 16384);
    } else if (f == "--max-seconds") {
      a.max_seconds = r.number(1, 600);
    } else if (f == "--hold") {
      a.hold = r.number(0, 900);
    } else if (f == "--first") {
      a.first = r.number(0, 4000000);
    } else if (f == "--ready-file") {
      a.ready_file = r.value();
    } else {
      r.fail("unknown flag: " + f);
    }
  }
  if (a.count == 0) {
    r.fail("--count is required");
  }
  if (a.count > a.sources * static_cast<long>(k_source_ports)) {
    r.fail("--count exceeds --sources x " + std::to_string(k_source_ports) + " source ports");
  }
  return a;
}

sockaddr_in v4(std::uint32_t addr, int port)
{
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  return sa;
}

const sockaddr* as_sockaddr(const sockaddr_in& sa)
{
  return reinterpret_cast<const sockaddr*>(&sa);
}

// A listening socket on addr:port, or -1 with a message on stderr.
int listen_on(std::uint32_t addr, int port, bool nonblocking)
{
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    std::fprintf(stderr, "tw-twgen: socket: %s\n", std::strerror(errno));
    return -1;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const sockaddr_in sa = v4(addr, port);
  if (bind(fd, as_sockaddr(sa), sizeof(sa)) != 0 || listen(fd, 65535) != 0) {
    std::fprintf(stderr, "tw-twgen: bind/listen port %d: %s\n", port, std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

long seconds_since(Clock::time_point t0)
{
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t0).count());
}

double fseconds_since(Clock::time_point t0)
{
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// What a worker did, sent to the parent over a pipe.
struct WorkerResult
{
  long created = 0; // connections closed on both sides: one TIME_WAIT each
  long failed = 0;
  int first_errno = 0;
};

// What an epoll entry is; the fd sits in the low 32 bits of the event data.
enum Kind : std::uint64_t
{
  k_client_closes_first = 1, // client: close once connected
  k_server_closes_first = 2, // client: close once the server's FIN arrived
  k_listen_client_first = 3, // listener whose connections the client closes first
  k_listen_server_first = 4, // listener whose connections the server closes first
  k_server_wait_fin = 5,     // accepted socket waiting for the client's FIN
};

std::uint64_t tag(Kind kind, int fd)
{
  return (static_cast<std::uint64_t>(kind) << 32) | static_cast<std::uint32_t>(fd);
}

// One worker: connections [begin, end) of the global index space, its own listeners.
WorkerResult run_worker(const Args& a, long w, long begin, long end, Clock::time_point deadline)
{
  WorkerResult r;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    std::fprintf(stderr, "tw-twgen: epoll_create1: %s\n", std::strerror(errno));
    std::exit(1);
  }
  const int port_base = k_listen_port_base + static_cast<int>(w * 2 * a.ports);
  for (long p = 0; p < 2 * a.ports; ++p) {
    const int fd = listen_on(k_dest_addr, port_base + static_cast<int>(p), true);
    if (fd < 0) {
      std::exit(1);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(p < a.ports ? k_listen_client_first : k_listen_server_first, fd);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }

  auto fail = [&](int err) {
    ++r.failed;
    if (r.first_errno == 0) {
      r.first_errno = err;
    }
  };

  long next = begin;
  long inflight = 0;      // client sockets open
  long server_closed = 0; // server sides closed
  long client_closed = 0; // client sides closed (connected ones)
  const long total = end - begin;
  std::vector<epoll_event> events(1024);
  char byte = 0;
  while (g_stop == 0 && Clock::now() < deadline) {
    if (client_closed + r.failed >= total && server_closed + r.failed >= total) {
      break;
    }
    while (inflight < a.inflight && next < end) {
      const long i = next++;
      const bool server_first = (i % 100) < a.inbound_pct;
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        fail(errno);
        continue;
      }
      const sockaddr_in src = v4(k_source_base + static_cast<std::uint32_t>(i % a.sources),
                                 k_source_port_base + static_cast<int>(i / a.sources));
      const int port = port_base + static_cast<int>((i / a.sources) % a.ports) +
                       (server_first ? static_cast<int>(a.ports) : 0);
      const sockaddr_in dst = v4(k_dest_addr, port);
      if (bind(fd, as_sockaddr(src), sizeof(src)) != 0 ||
          (connect(fd, as_sockaddr(dst), sizeof(dst)) != 0 && errno != EINPROGRESS)) {
        fail(errno);
        close(fd);
        continue;
      }
      if (!server_first) {
        // Over loopback the handshake has usually finished inside connect(): close at once
        // and skip epoll; tcpi_state is the first byte of tcp_info.
        std::uint8_t state = 0;
        socklen_t len = sizeof(state);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &state, &len) == 0 && state == 1) {
          close(fd);
          ++client_closed;
          continue;
        }
      }
      epoll_event ev{};
      ev.events = server_first ? (EPOLLIN | EPOLLRDHUP) : EPOLLOUT;
      ev.data.u64 = tag(server_first ? k_server_closes_first : k_client_closes_first, fd);
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      ++inflight;
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "tw-twgen: epoll_wait: %s\n", std::strerror(errno));
      break;
    }
    for (int k = 0; k < n; ++k) {
      const auto kind = static_cast<Kind>(events[static_cast<std::size_t>(k)].data.u64 >> 32);
      const int fd = static_cast<int>(events[static_cast<std::size_t>(k)].data.u64 & 0xffffffffU);
      const std::uint32_t what = events[static_cast<std::size_t>(k)].events;
      switch (kind) {
        case k_client_closes_first:
        case k_server_closes_first: {
          int err = 0;
          socklen_t len = sizeof(err);
          if ((what & EPOLLERR) != 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
            fail(err);
          } else {
            ++client_closed;
          }
          close(fd);
          --inflight;
          break;
        }
        case k_listen_client_first:
        case k_listen_server_first:
          for (int burst = 0; burst < 4096; ++burst) {
            const int cfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (cfd < 0) {
              break;
            }
            if (kind == k_listen_server_first || read(cfd, &byte, 1) == 0) {
              close(cfd);
              ++server_closed;
              continue;
            }
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.u64 = tag(k_server_wait_fin, cfd);
            epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
          }
          break;
        case k_server_wait_fin:
          close(fd);
          ++server_closed;
          break;
      }
    }
  }
  r.created = std::min(client_closed, server_closed);
  return r;
}

void write_ready(const Args& a, const std::string& line)
{
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (a.ready_file.empty()) {
    return;
  }
  const std::string tmp = a.ready_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "tw-twgen: %s: %s\n", tmp.c_str(), std::strerror(errno));
    return;
  }
  std::fprintf(f, "%s\n", line.c_str());
  std::fclose(f);
  if (std::rename(tmp.c_str(), a.ready_file.c_str()) != 0) {
    std::fprintf(stderr, "tw-twgen: rename to %s: %s\n", a.ready_file.c_str(), std::strerror(errno));
  }
}

// ESTABLISHED pairs and idle listeners held beside the TIME_WAIT sockets; fds returned.
std::vector<int> make_live_sockets(const Args& a)
{
  std::vector<int> fds;
  for (long l = 0; l < a.listeners; ++l) {
    const int fd = listen_on(INADDR_ANY, k_idle_listener_base + static_cast<int>(l), false);
    if (fd >= 0) {
      fds.push_back(fd);
    }
  }
  if (a.established == 0) {
    return fds;
  }
  const int lfd = listen_on(k_dest_addr, k_established_port, false);
  if (lfd < 0) {
    return fds;
  }
  fds.push_back(lfd);
  const sockaddr_in dst = v4(k_dest_addr, k_established_port);
  for (long e = 0; e < a.established; ++e) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, as_sockaddr(dst), sizeof(dst)) != 0) {
      std::fprintf(stderr, "tw-twgen: established connect: %s\n", std::strerror(errno));
      if (fd >= 0) {
        close(fd);
      }
      break;
    }
    fds.push_back(fd);
    const int afd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (afd >= 0) {
      fds.push_back(afd);
    }
  }
  return fds;
}

int run_tcp(const Args& a)
{
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(a.max_seconds);
  const std::vector<int> live = make_live_sockets(a);

  std::vector<pid_t> pids;
  std::vector<int> pipes;
  for (long w = 0; w < a.workers; ++w) {
    int pfd[2];
    if (pipe(pfd) != 0) {
      std::fprintf(stderr, "tw-twgen: pipe: %s\n", std::strerror(errno));
      return 1;
    }
    const pid_t pid = fork();
    if (pid < 0) {
      std::fprintf(stderr, "tw-twgen: fork: %s\n", std::strerror(errno));
      return 1;
    }
    if (pid == 0) {
      g_worker_count = 0;
      prctl(PR_SET_PDEATHSIG, SIGTERM); // a killed parent takes its workers along
      close(pfd[0]);
      const long begin = a.count * w / a.workers;
      const long end = a.count * (w + 1) / a.workers;
      const WorkerResult r = run_worker(a, w, begin, end, deadline);
      const ssize_t written = write(pfd[1], &r, sizeof(r));
      _exit(written == static_cast<ssize_t>(sizeof(r)) ? 0 : 1);
    }
    close(pfd[1]);
    g_workers[w] = pid;
    g_worker_count = static_cast<std::sig_atomic_t>(w + 1);
    pids.push_back(pid);
    pipes.push_back(pfd[0]);
  }
  WorkerResult total;
  for (std::size_t w = 0; w < pids.size(); ++w) {
    WorkerResult r;
    if (read(pipes[w], &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) {
      total.created += r.created;
      total.failed += r.failed;
      if (total.first_errno == 0) {
        total.first_errno = r.first_errno;
      }
    }
    close(pipes[w]);
    int status = 0;
    waitpid(pids[w], &status, 0);
  }
  std::string first = total.first_errno == 0 ? "-" : std::strerror(total.first_errno);
  for (auto& ch : first) {
    ch = ch == ' ' ? '_' : ch;
  }
  char line[256];
  std::snprintf(line,
                sizeof(line),
                "created=%ld failed=%ld seconds=%.2f first_error=%s",
                total.created,
                total.failed,
                fseconds_since(t0),
                first.c_str());
  write_ready(a, line);

  const auto hold_start = Clock::now();
  while (g_stop == 0 && seconds_since(hold_start) < a.hold) {
    usleep(100 * 1000);
  }
  for (const int fd : live) {
    close(fd);
  }
  return 0;
}

int run_udp(const Args& a)
{
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(a.max_seconds);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const sockaddr_in src = v4(k_udp_source, 0);
  if (fd < 0 || bind(fd, as_sockaddr(src), sizeof(src)) != 0) {
    std::fprintf(stderr, "tw-twgen: udp socket/bind 198.18.0.2: %s\n", std::strerror(errno));
    return 1;
  }
  constexpr std::size_t k_batch = 512;
  std::vector<sockaddr_in> dsts(k_batch);
  std::vector<mmsghdr> msgs(k_batch);
  char payload = 'x';
  iovec iov{ &payload, 1 };
  long sent = 0;
  long errors = 0;
  while (sent < a.count && g_stop == 0 && Clock::now() < deadline && errors < 1000) {
    const std::size_t n =
      static_cast<std::size_t>(std::min<long>(static_cast<long>(k_batch), a.count - sent));
    for (std::size_t k = 0; k < n; ++k) {
      const long i = a.first + sent + static_cast<long>(k);
      dsts[k] =
        v4(k_udp_dest_net + static_cast<std::uint32_t>(i % 65536), 20000 + static_cast<int>(i / 65536));
      msgs[k] = mmsghdr{};
      msgs[k].msg_hdr.msg_name = &dsts[k];
      msgs[k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[k].msg_hdr.msg_iov = &iov;
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    const int done = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    if (done <= 0) {
      // ICMP port unreachable from an earlier datagram surfaces as ECONNREFUSED: keep going.
      ++errors;
      if (done < 0 && errno != ECONNREFUSED && errno != EINTR) {
        std::fprintf(stderr, "tw-twgen: sendmmsg: %s\n", std::strerror(errno));
      }
      continue;
    }
    sent += done;
  }
  close(fd);
  std::printf("sent=%ld seconds=%.2f\n", sent, fseconds_since(t0));
  return 0;
}

void raise_fd_limit()
{
  rlimit rl{};
  rl.rlim_cur = 1 << 16;
  rl.rlim_max = 1 << 16;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

} // namespace

int main(int argc, char** argv)
{
  const Args a = parse(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  raise_fd_limit();
  return a.mode == "tcp" ? run_tcp(a) : run_udp(a);
}
