// tw-dump-floor: the floor of the benchmark. One bare sock_diag dump of TCP sockets per family
// over a raw NETLINK_SOCK_DIAG socket, counting messages and nothing else: no decoding, no
// attributes, no allocation per message. No tool that reads the same sockets can beat it.
//
//   tw-dump-floor [--states MASK] [--family 4|6|both]
//       MASK is the inet_diag idiag_states bitmask (default 0x40: TIME_WAIT only; 0xfff for
//       every state, what `ss -tan` asks for). Prints "messages=N v4=N v6=N" and exits 0, or
//       names the failing step and errno and exits 1.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// The kernel fills one skb of at most 32 KiB per recv; a larger user buffer gains nothing.
constexpr std::size_t k_buffer = std::size_t{ 64 } * 1024;
// Lets the kernel run ahead while we count.
constexpr int k_rcvbuf = 8 * 1024 * 1024;
constexpr int k_max_eintr = 1000;

[[noreturn]] void die(const char* step)
{
  std::fprintf(stderr, "tw-dump-floor: %s: %s\n", step, std::strerror(errno));
  std::exit(1);
}

struct Request
{
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

// Dumps one family and returns the number of socket messages.
std::uint64_t dump(int fd, std::uint8_t family, std::uint32_t states, std::uint32_t seq)
{
  Request r{};
  r.nlh.nlmsg_len = sizeof(r);
  r.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  r.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  r.nlh.nlmsg_seq = seq;
  r.req.sdiag_family = family;
  r.req.sdiag_protocol = IPPROTO_TCP;
  r.req.idiag_states = states;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &r, sizeof(r), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    die("sendto inet_diag_req_v2");
  }
  alignas(nlmsghdr) static std::uint8_t buf[k_buffer];
  std::uint64_t count = 0;
  int eintr = 0;
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR && ++eintr < k_max_eintr) {
        continue;
      }
      die("recv");
    }
    if (n == 0) {
      errno = EPIPE;
      die("recv (closed before NLMSG_DONE)");
    }
    // Walked by hand: the NLMSG_* macros use C casts, which the project's warnings reject.
    std::size_t off = 0;
    const auto len = static_cast<std::size_t>(n);
    while (off + sizeof(nlmsghdr) <= len) {
      nlmsghdr h;
      std::memcpy(&h, buf + off, sizeof(h));
      if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > len) {
        break;
      }
      const std::size_t body = off + sizeof(nlmsghdr);
      off += (h.nlmsg_len + NLMSG_ALIGNTO - 1) & ~static_cast<std::size_t>(NLMSG_ALIGNTO - 1);
      if (h.nlmsg_type == NLMSG_DONE) {
        return count;
      }
      if (h.nlmsg_type == NLMSG_ERROR) {
        std::int32_t error = 0;
        std::memcpy(&error, buf + body, sizeof(error));
        errno = -error;
        die("NLMSG_ERROR");
      }
      ++count;
    }
  }
}

} // namespace

int main(int argc, char** argv)
{
  std::uint32_t states = 1U << 6;
  std::string family = "both";
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--states" && i + 1 < argc) {
      states = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 0));
    } else if (f == "--family" && i + 1 < argc) {
      family = argv[++i];
    } else {
      std::fprintf(stderr, "usage: tw-dump-floor [--states MASK] [--family 4|6|both]\n");
      return 2;
    }
  }
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    die("socket(NETLINK_SOCK_DIAG)");
  }
  // SO_RCVBUFFORCE passes rmem_max when we are root; fall back to what we may ask for.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &k_rcvbuf, sizeof(k_rcvbuf)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &k_rcvbuf, sizeof(k_rcvbuf));
  }
  std::uint64_t v4 = 0;
  std::uint64_t v6 = 0;
  if (family == "4" || family == "both") {
    v4 = dump(fd, AF_INET, states, 1);
  }
  if (family == "6" || family == "both") {
    v6 = dump(fd, AF_INET6, states, 2);
  }
  close(fd);
  const std::uint64_t total = v4 + v6;
  std::printf("messages=%llu v4=%llu v6=%llu\n",
              static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(v4),
              static_cast<unsigned long long>(v6));
  return 0;
}
