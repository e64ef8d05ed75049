// tw-loadgen: a small, bounded TCP traffic generator for the live tests (run inside network
// namespaces with `ip netns exec`). Whoever closes first holds TIME_WAIT for 60 s, so the
// flags choose which side ends up with it. IPv4 and IPv6 ("::" listens dual-stack).
//
// These flags are a stable interface used by several live tests; extend, do not change them.
//
//   tw-loadgen server --bind ADDR --port P [--close-first] [--count N] [--timeout-ms MS]
//       Listens on ADDR:P and prints "ready" on stdout once listening. Accepts connections;
//       with --close-first it closes each one right after accept() (inbound TIME_WAIT here),
//       otherwise it waits for the client's FIN, then closes. Exits after N connections were
//       accepted and closed (--count, default: no limit), after --timeout-ms (default 60000),
//       or on SIGTERM. Prints "accepted=N" on exit. With --never-close it keeps every accepted
//       connection open, even after the client's FIN (CLOSE_WAIT here: a leak), until it exits.
//
//   tw-loadgen client --connect ADDR --port P --count N [--close-first] [--bind ADDR]
//                     [--hold N] [--hold-ms MS] [--timeout-ms MS] [--json]
//                     [--bind-port0] [--interval-ms MS]
//       Connects N times, one after another. With --close-first it closes right after connect()
//       (outbound TIME_WAIT here); otherwise it waits (bounded) for the server to close first.
//       --bind ADDR binds the source address with IP_BIND_ADDRESS_NO_PORT (the port is still
//       chosen by connect(), from ip_local_port_range). --hold N keeps the first N connections
//       open (ESTABLISHED); after the loop it prints the result, then "holding" and waits
//       --hold-ms (default 30000) or SIGTERM before exiting. --timeout-ms bounds the whole loop
//       (default 60000; one connect at most 5000). --bind-port0 makes it a client that bind()s
//       before connect(): bind() to --bind ADDR (default the wildcard) port 0 without
//       IP_BIND_ADDRESS_NO_PORT, so bind() picks the port; a bind() that fails with EADDRINUSE is
//       counted as eaddrinuse. --interval-ms waits MS between attempts (spreads them in time).
//       Prints one result line:
//         ok=N eaddrnotavail=N refused=N timeout=N other=N held=N first_error=TEXT
//       (with --bind-port0, " eaddrinuse=N" before first_error) or, with --json,
//       {"ok":N,"eaddrnotavail":N,"refused":N,"timeout":N,"other":N,"held":N,"eaddrinuse":N,
//       "first_error":"TEXT"}. Exit 0 when the loop ran (whatever the per-connect outcomes),
//       2 on bad arguments, 1 when the listening/setup step failed.
#include "gen_args.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int /*sig*/)
{
  g_stop = 1;
}

struct Args
{
  std::string mode;
  std::string bind_addr;
  std::string connect_addr;
  int port = 0;
  long count = -1;
  bool close_first = false;
  bool never_close = false; // server: keep accepted connections open after the peer's FIN
  long hold = 0;
  long hold_ms = 30000;
  long timeout_ms = 60000;
  bool json = false;
  bool bind_port0 = false;
  long interval_ms = 0;
};

constexpr tw::tools::Usage k_usage{
  "tw-loadgen",
  "usage: tw-loadgen server --bind ADDR --port P [--close-first] [--never-close] [--count N]\n"
  "                         [--timeout-ms MS]\n"
  "       tw-loadgen client --connect ADDR --port P --count N [--close-first] [--bind ADDR]\n"
  "                         [--hold N] [--hold-ms MS] [--timeout-ms MS] [--json]\n"
  "                         [--bind-port0] [--interval-ms MS]\n"
};

[[noreturn]] void usage(const std::string& why)
{
  tw::tools::usage_exit(k_usage, why);
}

Args parse(int argc, char** argv)
{
  tw::tools::ArgReader r(argc, argv, k_usage, { "server", "client" });
  Args a;
  a.mode = r.mode();
  while (r.next()) {
    const std::string& f = r.flag();
    if (f == "--bind") {
      a.bind_addr = r.value();
    } else if (f == "--connect") {
      a.connect_addr = r.value();
    } else if (f == "--port") {
      a.port = static_cast<int>(r.number(1, 65535));
    } else if (f == "--count") {
      a.count = r.number(0, 10000000);
    } else if (f == "--close-first") {
      a.close_first = true;
    } else if (f == "--never-close") {
      a.never_close = true;
    } else if (f == "--hold") {
      a.hold = r.number(0, 100000);
    } else if (f == "--hold-ms") {
      a.hold_ms = r.number(0, 3600000);
    } else if (f == "--timeout-ms") {
      a.timeout_ms = r.number(1, 3600000);
    } else if (f == "--json") {
      a.json = true;
    } else if (f == "--bind-port0") {
      a.bind_port0 = true;
    } else if (f == "--interval-ms") {
      a.interval_ms = r.number(0, 60000);
    } else {
      usage("unknown flag: " + f);
    }
  }
  if (a.port == 0) {
    usage("--port is required");
  }
  if (a.mode == "server" && a.bind_addr.empty()) {
    usage("server needs --bind");
  }
  if (a.mode == "client" && (a.connect_addr.empty() || a.count < 0)) {
    usage("client needs --connect and --count");
  }
  return a;
}

// ADDR:port as a sockaddr; false when ADDR is neither IPv4 nor IPv6.
bool make_addr(const std::string& text, int port, sockaddr_storage& ss, socklen_t& len)
{
  std::memset(&ss, 0, sizeof(ss));
  sockaddr_in v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&ss, &v4, sizeof(v4));
    len = sizeof(v4);
    return true;
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&ss, &v6, sizeof(v6));
    len = sizeof(v6);
    return true;
  }
  return false;
}

long ms_left(Clock::time_point deadline)
{
  return static_cast<long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

void raise_fd_limit()
{
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int run_server(const Args& a)
{
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!make_addr(a.bind_addr, a.port, ss, len)) {
    usage("--bind: not an IPv4 or IPv6 address: " + a.bind_addr);
  }
  const int lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) {
    std::fprintf(stderr, "tw-loadgen: socket: %s\n", std::strerror(errno));
    return 1;
  }
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) {
    const int zero = 0; // "::" accepts IPv4 too (mapped addresses)
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(lfd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(lfd, 4096) != 0) {
    std::fprintf(
      stderr, "tw-loadgen: bind/listen %s port %d: %s\n", a.bind_addr.c_str(), a.port, std::strerror(errno));
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  const auto deadline = Clock::now() + std::chrono::milliseconds(a.timeout_ms);
  long accepted = 0;
  std::vector<int> open; // connections waiting for the client's FIN
  std::vector<int> kept; // --never-close: accepted and left alone
  std::vector<pollfd> pfds;
  char buf[4096];
  while (g_stop == 0 && ms_left(deadline) > 0) {
    if (a.count >= 0 && accepted >= a.count && open.empty()) {
      break;
    }
    pfds.clear();
    pfds.push_back({ lfd, POLLIN, 0 });
    for (const int fd : open) {
      pfds.push_back({ fd, POLLIN, 0 });
    }
    const long wait = std::min(ms_left(deadline), 200L);
    if (poll(pfds.data(), pfds.size(), static_cast<int>(std::max(wait, 0L))) < 0 && errno != EINTR) {
      break;
    }
    std::vector<int> fresh;
    if ((pfds[0].revents & POLLIN) != 0) {
      for (int i = 0; i < 256; ++i) {
        const int cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
          break;
        }
        ++accepted;
        if (a.close_first) {
          close(cfd);
        } else if (a.never_close) {
          kept.push_back(cfd); // never read, never closed: CLOSE_WAIT once the client closes
        } else {
          fresh.push_back(cfd);
        }
      }
    }
    std::vector<int> still;
    for (std::size_t i = 1; i < pfds.size(); ++i) {
      const int fd = pfds[i].fd;
      if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          close(fd);
          continue;
        }
      }
      still.push_back(fd);
    }
    still.insert(still.end(), fresh.begin(), fresh.end());
    open.swap(still);
  }
  for (const int fd : open) {
    close(fd);
  }
  for (const int fd : kept) {
    close(fd);
  }
  close(lfd);
  std::printf("accepted=%ld\n", accepted);
  std::fflush(stdout);
  return 0;
}

struct Tally
{
  long ok = 0;
  long eaddrnotavail = 0;
  long refused = 0;
  long timeout = 0;
  long other = 0;
  long eaddrinuse = 0; // bind() to port 0 (--bind-port0)
  std::string first_error;

  void fail(int err)
  {
    if (err == EADDRNOTAVAIL) {
      ++eaddrnotavail;
    } else if (err == ECONNREFUSED) {
      ++refused;
    } else if (err == ETIMEDOUT) {
      ++timeout;
    } else {
      ++other;
    }
    if (first_error.empty()) {
      first_error = std::strerror(err);
    }
  }
};

// Connects once; the connected fd, or -1 with the errno recorded in tally.
int connect_once(const Args& a,
                 const sockaddr_storage& dst,
                 socklen_t dlen,
                 const sockaddr_storage* src,
                 socklen_t slen,
                 Clock::time_point deadline,
                 Tally& t)
{
  const int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    t.fail(errno);
    return -1;
  }
  if (src != nullptr) {
    const int one = 1;
    if (!a.bind_port0) {
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(src), slen) != 0) {
      const int err = errno;
      if (err == EADDRINUSE && a.bind_port0) {
        ++t.eaddrinuse;
        if (t.first_error.empty()) {
          t.first_error = std::strerror(err);
        }
      } else {
        t.fail(err);
      }
      close(fd);
      return -1;
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), dlen) != 0) {
    if (errno != EINPROGRESS) {
      t.fail(errno);
      close(fd);
      return -1;
    }
    pollfd p{ fd, POLLOUT, 0 };
    const long wait = std::min(ms_left(deadline), 5000L);
    if (wait <= 0 || poll(&p, 1, static_cast<int>(wait)) <= 0) {
      t.fail(ETIMEDOUT);
      close(fd);
      return -1;
    }
    int err = 0;
    socklen_t elen = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) {
      t.fail(err);
      close(fd);
      return -1;
    }
  }
  ++t.ok;
  return fd;
}

// Waits (bounded) for the server's FIN so the server holds TIME_WAIT, then closes.
void close_after_peer(int fd, Clock::time_point deadline)
{
  char buf[512];
  for (int i = 0; i < 100; ++i) {
    pollfd p{ fd, POLLIN, 0 };
    const long wait = std::min(ms_left(deadline), 5000L);
    if (wait <= 0 || poll(&p, 1, static_cast<int>(wait)) <= 0) {
      break;
    }
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
      break;
    }
  }
  close(fd);
}

int run_client(const Args& a)
{
  sockaddr_storage dst{};
  socklen_t dlen = 0;
  if (!make_addr(a.connect_addr, a.port, dst, dlen)) {
    usage("--connect: not an IPv4 or IPv6 address: " + a.connect_addr);
  }
  sockaddr_storage src{};
  socklen_t slen = 0;
  if (!a.bind_addr.empty() && !make_addr(a.bind_addr, 0, src, slen)) {
    usage("--bind: not an IPv4 or IPv6 address: " + a.bind_addr);
  }
  const bool bind_first = !a.bind_addr.empty() || a.bind_port0;
  if (a.bind_addr.empty() && a.bind_port0) { // the wildcard of the destination's family
    make_addr(dst.ss_family == AF_INET6 ? "::" : "0.0.0.0", 0, src, slen);
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(a.timeout_ms);
  Tally t;
  std::vector<int> held;
  for (long i = 0; i < a.count && g_stop == 0 && ms_left(deadline) > 0; ++i) {
    if (i > 0 && a.interval_ms > 0) {
      usleep(static_cast<useconds_t>(a.interval_ms) * 1000);
    }
    const int fd = connect_once(a, dst, dlen, bind_first ? &src : nullptr, slen, deadline, t);
    if (fd < 0) {
      continue;
    }
    if (static_cast<long>(held.size()) < a.hold) {
      held.push_back(fd);
    } else if (a.close_first) {
      close(fd);
    } else {
      close_after_peer(fd, deadline);
    }
  }
  if (a.json) {
    std::printf(
      "{\"ok\":%ld,\"eaddrnotavail\":%ld,\"refused\":%ld,\"timeout\":%ld,\"other\":%ld,\"held\":%zu,"
      "\"eaddrinuse\":%ld,\"first_error\":\"%s\"}\n",
      t.ok,
      t.eaddrnotavail,
      t.refused,
      t.timeout,
      t.other,
      held.size(),
      t.eaddrinuse,
      t.first_error.c_str());
  } else {
    std::string fe = t.first_error;
    for (auto& ch : fe) {
      ch = ch == ' ' ? '_' : ch;
    }
    const std::string inuse = a.bind_port0 ? " eaddrinuse=" + std::to_string(t.eaddrinuse) : "";
    std::printf("ok=%ld eaddrnotavail=%ld refused=%ld timeout=%ld other=%ld held=%zu%s first_error=%s\n",
                t.ok,
                t.eaddrnotavail,
                t.refused,
                t.timeout,
                t.other,
                held.size(),
                inuse.c_str(),
                fe.empty() ? "-" : fe.c_str());
  }
  std::fflush(stdout);
  if (!held.empty()) {
    std::printf("holding\n");
    std::fflush(stdout);
    const auto until = Clock::now() + std::chrono::milliseconds(a.hold_ms);
    while (g_stop == 0 && ms_left(until) > 0) {
      poll(nullptr, 0, static_cast<int>(std::min(ms_left(until), 200L)));
    }
    for (const int fd : held) {
      close(fd);
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  raise_fd_limit();
  const Args a = parse(argc, argv);
  return a.mode == "server" ? run_server(a) : run_client(a);
}
