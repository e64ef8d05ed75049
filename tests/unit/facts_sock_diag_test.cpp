#include "facts/sock_diag.hpp"
#include "netlink_bytes.hpp"

#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace tw {
namespace {

constexpr std::uint32_t k_seq = test::k_test_seq;
using test::attr;
using test::Bytes;
using test::diag;

std::vector<SockRecord> decode(const Bytes& b, DecodeResult& r)
{
  std::vector<SockRecord> out;
  r = decode_sock_diag(b.data(), b.size(), k_seq, [&out](const SockRecord& rec) { out.push_back(rec); });
  return out;
}

TEST(SockDiagDecode, DecodesIpv4TimeWaitAndStopsAtDone)
{
  const auto m = diag(AF_INET, 6, "198.18.1.1", 40001, "198.18.1.2", 8080);
  const int done_code = 0;
  Bytes b;
  b.message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m)).message(NLMSG_DONE, &done_code, sizeof(done_code));
  DecodeResult r;
  const auto recs = decode(b, r);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, 0);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.messages, 1U);
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].family, AF_INET);
  EXPECT_EQ(recs[0].state, 6);
  EXPECT_EQ(recs[0].local_port, 40001);
  EXPECT_EQ(recs[0].remote_port, 8080);
  EXPECT_EQ(recs[0].ifindex, 3U);
  const std::array<std::uint8_t, 16> local = { 198, 18, 1, 1 };
  const std::array<std::uint8_t, 16> remote = { 198, 18, 1, 2 };
  EXPECT_EQ(recs[0].local, local);
  EXPECT_EQ(recs[0].remote, remote);
  EXPECT_FALSE(recs[0].has_tcp_info);
}

TEST(SockDiagDecode, NormalisesIpv4MappedAddresses)
{
  const auto mapped = diag(AF_INET6, 6, "::ffff:198.18.1.2", 8080, "::ffff:198.18.1.1", 40001);
  const auto v6 = diag(AF_INET6, 6, "fd00:198:18:1::2", 8080, "fd00:198:18:1::1", 40002);
  const auto listen_any = diag(AF_INET6, 10, "::", 8080, "::", 0);
  Bytes b;
  b.message(SOCK_DIAG_BY_FAMILY, &mapped, sizeof(mapped))
    .message(SOCK_DIAG_BY_FAMILY, &v6, sizeof(v6))
    .message(SOCK_DIAG_BY_FAMILY, &listen_any, sizeof(listen_any));
  DecodeResult r;
  const auto recs = decode(b, r);
  EXPECT_FALSE(r.done); // more to come in the next recv
  ASSERT_EQ(recs.size(), 3U);
  EXPECT_EQ(recs[0].family, AF_INET);
  const std::array<std::uint8_t, 16> local = { 198, 18, 1, 2 };
  EXPECT_EQ(recs[0].local, local);
  EXPECT_EQ(recs[0].remote[0], 198);
  EXPECT_EQ(recs[0].remote[3], 1);
  EXPECT_EQ(recs[0].remote[10], 0);
  EXPECT_EQ(recs[1].family, AF_INET6);
  EXPECT_EQ(recs[1].local[0], 0xfd);
  EXPECT_EQ(recs[2].family, AF_INET6); // the wildcard stays IPv6 (it is not a mapped address)
}

TEST(SockDiagDecode, ReadsTcpiOptionsFromInetDiagInfo)
{
  const auto m = diag(AF_INET, 1, "198.18.1.1", 40001, "198.18.1.2", 443);
  tcp_info ti{};
  ti.tcpi_options = 1 | 4; // TIMESTAMPS | WSCALE
  const std::uint8_t shutdown = 0;
  auto attrs = attr(INET_DIAG_SHUTDOWN, &shutdown, 1);
  const auto info = attr(INET_DIAG_INFO, &ti, sizeof(ti));
  attrs.insert(attrs.end(), info.begin(), info.end());
  Bytes b;
  b.message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m), k_seq, NLM_F_MULTI, attrs);
  DecodeResult r;
  const auto recs = decode(b, r);
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_TRUE(recs[0].has_tcp_info);
  EXPECT_EQ(recs[0].tcpi_options, 5);
}

TEST(SockDiagDecode, ShortTcpInfoIsIgnored)
{
  const auto m = diag(AF_INET, 1, "198.18.1.1", 40001, "198.18.1.2", 443);
  const std::uint8_t tiny[3] = { 1, 0, 0 }; // ends before tcpi_options
  Bytes b;
  b.message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m), k_seq, NLM_F_MULTI, attr(INET_DIAG_INFO, tiny, sizeof(tiny)));
  DecodeResult r;
  const auto recs = decode(b, r);
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_FALSE(recs[0].has_tcp_info);
}

TEST(SockDiagDecode, NlmsgErrorEndsTheDumpWithItsErrno)
{
  nlmsgerr e{};
  e.error = -EPERM;
  Bytes b;
  const auto m = diag(AF_INET, 6, "198.18.1.1", 40001, "198.18.1.2", 8080);
  b.message(NLMSG_ERROR, &e, sizeof(e)).message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
  DecodeResult r;
  const auto recs = decode(b, r);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, EPERM);
  EXPECT_TRUE(recs.empty()) << "nothing after the error is decoded";
}

TEST(SockDiagDecode, AckIsNotAnError)
{
  nlmsgerr ack{};
  const int done_code = 0;
  Bytes b;
  b.message(NLMSG_ERROR, &ack, sizeof(ack)).message(NLMSG_DONE, &done_code, sizeof(done_code));
  DecodeResult r;
  decode(b, r);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, 0);
}

TEST(SockDiagDecode, NegativeCodeInDoneIsAnError)
{
  const int done_code = -ENOBUFS;
  Bytes b;
  b.message(NLMSG_DONE, &done_code, sizeof(done_code));
  DecodeResult r;
  decode(b, r);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, ENOBUFS);
}

TEST(SockDiagDecode, DumpInterruptedIsReported)
{
  const auto m = diag(AF_INET, 6, "198.18.1.1", 40001, "198.18.1.2", 8080);
  const int done_code = 0;
  Bytes b;
  b.message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m), k_seq, NLM_F_MULTI | NLM_F_DUMP_INTR)
    .message(NLMSG_DONE, &done_code, sizeof(done_code), k_seq, NLM_F_MULTI | NLM_F_DUMP_INTR);
  DecodeResult r;
  const auto recs = decode(b, r);
  EXPECT_TRUE(r.interrupted);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(recs.size(), 1U);
}

TEST(SockDiagDecode, OtherSequencesAndTruncatedMessagesAreSkipped)
{
  const auto m = diag(AF_INET, 6, "198.18.1.1", 40001, "198.18.1.2", 8080);
  const std::uint8_t short_payload[8] = {};
  Bytes b;
  b.message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m), k_seq + 1)
    .message(SOCK_DIAG_BY_FAMILY, short_payload, sizeof(short_payload))
    .message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
  DecodeResult r;
  const auto recs = decode(b, r);
  EXPECT_EQ(recs.size(), 1U);
  EXPECT_EQ(r.foreign, 1U); // an earlier dump's leftovers: not this dump's loss
  EXPECT_EQ(r.skipped, 1U); // too short to be a socket: counted, so the census can say so
  EXPECT_EQ(r.trailing, 0U);
  // A buffer cut in the middle of a message stops cleanly at the last whole one and reports
  // the cut-off bytes instead of dropping them silently.
  std::vector<SockRecord> out;
  const DecodeResult cut =
    decode_sock_diag(b.data(), b.size() - 10, k_seq, [&out](const SockRecord& rec) { out.push_back(rec); });
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(cut.done);
  EXPECT_EQ(cut.foreign, 1U);
  EXPECT_EQ(cut.skipped, 1U);
  EXPECT_EQ(cut.trailing, NLMSG_LENGTH(sizeof(m)) - 10);
}

// A socket of this process, closed with the test.
class Fd
{
public:
  explicit Fd(int fd)
    : m_fd(fd)
  {
  }
  ~Fd()
  {
    if (m_fd >= 0) {
      close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

private:
  int m_fd;
};

// A loopback listener on an ephemeral port; returns the port (0 on failure, with a failure).
std::uint16_t listen_loopback(const Fd& fd, int family)
{
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
  EXPECT_EQ(listen(fd.get(), 4), 0) << std::strerror(errno);
  EXPECT_EQ(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len), 0) << std::strerror(errno);
  return ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                 : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

TEST(SockDiagLive, DumpsThisNamespaceWithoutPrivileges)
{
  // sock_diag is unprivileged. The test makes its own sockets in whatever namespace it runs
  // in (loopback only) and must find each of them, in the right family and state.
  const Fd l4(socket(AF_INET, SOCK_STREAM, 0));
  const Fd l6(socket(AF_INET6, SOCK_STREAM, 0));
  ASSERT_GE(l4.get(), 0);
  ASSERT_GE(l6.get(), 0) << "no IPv6 in this namespace: " << std::strerror(errno);
  const int v6only = 1;
  ASSERT_EQ(setsockopt(l6.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)), 0);
  const std::uint16_t p4 = listen_loopback(l4, AF_INET);
  const std::uint16_t p6 = listen_loopback(l6, AF_INET6);
  ASSERT_NE(p4, 0);
  ASSERT_NE(p6, 0);
  // One established IPv6 connection: the client end must carry tcp_info.
  const Fd c6(socket(AF_INET6, SOCK_STREAM, 0));
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_addr = in6addr_loopback;
  to.sin6_port = htons(p6);
  ASSERT_EQ(connect(c6.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0) << std::strerror(errno);
  const Fd a6(accept(l6.get(), nullptr, nullptr));
  ASSERT_GE(a6.get(), 0);

  SockDiag d;
  ASSERT_TRUE(d.ok()) << d.step() << ": " << d.error();
  std::uint64_t seen = 0;
  int found4 = 0;
  const auto r = d.dump_tcp(AF_INET, state_bit(10), false, [&](const SockRecord& rec) {
    ++seen;
    EXPECT_EQ(rec.state, 10);
    found4 += rec.family == AF_INET && rec.local_port == p4 && rec.local[0] == 127 ? 1 : 0;
  });
  EXPECT_TRUE(r.ok) << r.step << ": " << r.error;
  EXPECT_EQ(r.messages, seen);
  EXPECT_EQ(r.skipped, 0U);
  EXPECT_EQ(found4, 1);

  std::uint64_t seen6 = 0;
  int listen6 = 0;
  int client6 = 0;
  bool client_info = false;
  const auto r6 = d.dump_tcp(AF_INET6, 0xfff & ~state_bit(0), true, [&](const SockRecord& rec) {
    ++seen6;
    if (rec.family != AF_INET6) {
      return; // a dual-stack socket of something else, normalised to IPv4
    }
    if (rec.state == 10 && rec.local_port == p6) {
      ++listen6;
    }
    if (rec.state == 1 && rec.remote_port == p6 && rec.local[15] == 1) {
      ++client6;
      client_info = rec.has_tcp_info;
    }
  });
  EXPECT_TRUE(r6.ok) << r6.step << ": " << r6.error;
  EXPECT_EQ(r6.messages, seen6);
  EXPECT_EQ(r6.skipped, 0U);
  EXPECT_GE(seen6, 3U); // the listener and both ends of the connection
  EXPECT_EQ(listen6, 1);
  EXPECT_EQ(client6, 1);
  EXPECT_TRUE(client_info) << "INET_DIAG_INFO was asked for";
}

TEST(SockDiagLive, AThrowingVisitorFailsTheDumpInsteadOfUnwindingThroughLibnl)
{
  const Fd l4(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(l4.get(), 0);
  ASSERT_NE(listen_loopback(l4, AF_INET), 0);
  {
    SockDiag d;
    ASSERT_TRUE(d.ok());
    const auto r =
      d.dump_tcp(AF_INET, state_bit(10), false, [](const SockRecord&) { throw std::runtime_error("boom"); });
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, ECANCELED);
    EXPECT_NE(r.step.find("boom"), std::string::npos) << r.step;
    EXPECT_NE(r.step.find("AF_INET"), std::string::npos) << r.step;
  }
  // Nothing was left dangling: a new dump on this thread works.
  SockDiag again;
  ASSERT_TRUE(again.ok());
  std::uint64_t seen = 0;
  const auto r = again.dump_tcp(AF_INET, state_bit(10), false, [&seen](const SockRecord&) { ++seen; });
  EXPECT_TRUE(r.ok) << r.step << ": " << r.error;
  EXPECT_GE(seen, 1U);
}

} // namespace
} // namespace tw
