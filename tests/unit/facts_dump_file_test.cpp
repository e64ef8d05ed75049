// Census recordings: the format round trip, replays of synthetic replies (large sections, errors,
// damaged files), and the committed recordings made from real sockets in namespaces, which must
// decode to exactly the census their live run printed.
#include "facts/census.hpp"
#include "facts/dump_file.hpp"
#include "facts/sock_diag.hpp"
#include "netlink_bytes.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <arpa/inet.h>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace tw {
namespace {

namespace fs = std::filesystem;

// The four dumps take_census asks for, in its order.
constexpr std::uint32_t k_listen = state_bit(static_cast<unsigned>(TcpState::listen));
constexpr std::uint32_t k_others =
  (state_bit(static_cast<unsigned>(k_tcp_state_slots)) - 1) & ~k_listen & ~state_bit(0);

// The replies of one dump: netlink messages of one sequence number.
class Replies
{
public:
  explicit Replies(std::uint32_t seq)
    : m_seq(seq)
  {
  }
  // One socket; with options set, an INET_DIAG_INFO carrying them.
  Replies& sock(int family,
                std::uint8_t state,
                const char* src,
                std::uint16_t sport,
                const char* dst,
                std::uint16_t dport,
                int options = -1)
  {
    const inet_diag_msg m = test::diag(family, state, src, sport, dst, dport);
    std::vector<std::uint8_t> attrs;
    if (options >= 0) {
      tcp_info ti{};
      ti.tcpi_options = static_cast<std::uint8_t>(options);
      attrs = test::attr(INET_DIAG_INFO, &ti, sizeof(ti));
    }
    m_bytes.message(SOCK_DIAG_BY_FAMILY, &m, sizeof(m), m_seq, NLM_F_MULTI, attrs);
    return *this;
  }
  Replies& done()
  {
    const int code = 0;
    m_bytes.message(NLMSG_DONE, &code, sizeof(code), m_seq);
    return *this;
  }
  Replies& error(int errnum)
  {
    nlmsgerr e{};
    e.error = -errnum;
    m_bytes.message(NLMSG_ERROR, &e, sizeof(e), m_seq);
    return *this;
  }
  const std::vector<std::uint8_t>& bytes() const { return m_bytes.bytes(); }
  std::uint32_t seq() const { return m_seq; }

private:
  std::uint32_t m_seq;
  test::Bytes m_bytes;
};

Sysctls port_sysctls(const std::string& range, const std::string& reserved)
{
  Sysctls s;
  s.values["net.ipv4.ip_local_port_range"] = { "net.ipv4.ip_local_port_range", ReadStatus::ok, range, 0, "" };
  s.values["net.ipv4.ip_local_reserved_ports"] = {
    "net.ipv4.ip_local_reserved_ports", ReadStatus::ok, reserved, 0, ""
  };
  return s;
}

class DumpFileTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/tw-dump-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // Records sections (request, replies) with these sysctls into a committed file.
  fs::path record(const std::vector<std::pair<DumpRequest, Replies>>& sections,
                  const Sysctls& sysctls = port_sysctls("40000 40999", ""),
                  bool timestamps = true)
  {
    const fs::path path = m_dir / ("rec" + std::to_string(++m_recordings) + ".twdump");
    DumpFileWriter w(path, sysctls, timestamps);
    for (const auto& [request, replies] : sections) {
      EXPECT_EQ(w.begin_dump(request, replies.seq()), 0);
      EXPECT_EQ(w.append(replies.bytes().data(), replies.bytes().size()), 0);
      EXPECT_EQ(w.end_dump(), 0);
    }
    w.commit();
    return path;
  }

  // The census replayed from path, with the recording's own sysctls and tcp_info choice.
  static SocketCensus replay(const fs::path& path, std::size_t top = 20)
  {
    DumpFileReader r(path);
    CensusOptions options = census_options_from(r.sysctls());
    options.top_n = top;
    options.want_timestamps = r.timestamps();
    SockDiag diag(r);
    return take_census(options, diag);
  }

  static std::string text_of(const fs::path& path)
  {
    std::ifstream in(path, std::ios::binary);
    return { std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>() };
  }

  fs::path m_dir;
  int m_recordings = 0;
};

TEST_F(DumpFileTest, HeaderKeepsTheSysctlsAndSectionsKeepTheExactBytes)
{
  Sysctls s = port_sysctls("32768 60999", "41000-41009,50000");
  SysctlValue denied;
  denied.key = "net.ipv4.tcp_fin_timeout";
  denied.status = ReadStatus::denied;
  denied.error = EACCES;
  denied.detail = "/proc/sys/net/ipv4/tcp_fin_timeout: Permission denied";
  s.values[denied.key] = denied;
  Replies a(7);
  a.sock(AF_INET, 10, "0.0.0.0", 8080, "0.0.0.0", 0).done();
  const fs::path path = record({ { DumpRequest{ AF_INET, k_listen, false }, a } }, s, false);

  struct stat st
  {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U) << "a recording lists connections: owner only";
  const std::string text = text_of(path);
  EXPECT_EQ(text.rfind("tw-advisor sock_diag recording 1\n", 0), 0U) << text;
  EXPECT_NE(text.find("\nsysctl net.ipv4.ip_local_reserved_ports ok 0 41000-41009,50000\n"),
            std::string::npos);
  EXPECT_NE(text.find("\ntimestamps no\n"), std::string::npos);
  EXPECT_NE(text.find("\n\ndump AF_INET states=0x00000400 tcp_info=no seq=7 bytes=" +
                      std::string(20 - std::to_string(a.bytes().size()).size(), '0') +
                      std::to_string(a.bytes().size()) + "\n"),
            std::string::npos)
    << text;

  DumpFileReader r(path);
  EXPECT_FALSE(r.timestamps());
  EXPECT_FALSE(r.kernel().empty());
  ASSERT_EQ(r.sysctls().values.size(), 3U);
  const SysctlValue* reserved = r.sysctls().find("net.ipv4.ip_local_reserved_ports");
  ASSERT_NE(reserved, nullptr);
  EXPECT_EQ(reserved->status, ReadStatus::ok);
  EXPECT_EQ(reserved->value, "41000-41009,50000");
  const SysctlValue* fin = r.sysctls().find("net.ipv4.tcp_fin_timeout");
  ASSERT_NE(fin, nullptr);
  EXPECT_EQ(fin->status, ReadStatus::denied);
  EXPECT_EQ(fin->error, EACCES);
  EXPECT_EQ(fin->detail, denied.detail);

  RecordedDump d;
  std::string why;
  ASSERT_TRUE(r.next_dump(d, why)) << why;
  EXPECT_EQ(d.request, (DumpRequest{ AF_INET, k_listen, false }));
  EXPECT_EQ(d.seq, 7U);
  std::vector<std::uint8_t> back(d.bytes + 10);
  int err = 0;
  const std::size_t got = r.read(back.data(), back.size(), err);
  EXPECT_EQ(err, 0);
  back.resize(got);
  EXPECT_EQ(back, a.bytes()) << "the section holds exactly the reply bytes";
  EXPECT_TRUE(r.at_end());
  EXPECT_FALSE(r.next_dump(d, why));
  EXPECT_EQ(why, "");
}

TEST_F(DumpFileTest, WithoutCommitNothingIsLeftBehind)
{
  {
    DumpFileWriter w(m_dir / "never.twdump", port_sysctls("40000 40999", ""), true);
    EXPECT_TRUE(fs::exists(w.temp_path()));
    EXPECT_EQ(w.temp_path().parent_path(), m_dir);
  }
  EXPECT_TRUE(fs::is_empty(m_dir)) << "neither the recording nor its temporary file";
  EXPECT_THROW(DumpFileWriter(m_dir / "no-such-dir" / "x.twdump", Sysctls{}, true), Error);
}

TEST_F(DumpFileTest, ReplayGivesTheCensusOfTheRecordedReplies)
{
  Replies l4(1);
  l4.sock(AF_INET, 10, "0.0.0.0", 22, "0.0.0.0", 0).done();
  Replies l6(2);
  l6.sock(AF_INET6, 10, "::", 443, "::", 0).done();
  Replies o4(3);
  o4.sock(AF_INET, 6, "198.18.1.1", 40001, "198.18.1.2", 8080)
    .sock(AF_INET, 6, "198.18.1.1", 40002, "198.18.1.2", 8080)
    .sock(AF_INET, 1, "198.18.1.1", 40003, "198.18.1.2", 8080, 1 /* TCPI_OPT_TIMESTAMPS */)
    .sock(AF_INET, 6, "198.18.1.1", 22, "198.18.1.9", 50000) // inbound: port 22 listens
    .done();
  Replies o6(4);
  o6.sock(AF_INET6, 6, "fd00:198:18:1::1", 40100, "fd00:198:18:1::2", 9000)
    .sock(AF_INET6, 6, "::ffff:198.18.1.1", 443, "::ffff:198.18.1.7", 51000) // mapped, inbound
    .done();
  const fs::path path = record({ { { AF_INET, k_listen, false }, l4 },
                                 { { AF_INET6, k_listen, false }, l6 },
                                 { { AF_INET, k_others, true }, o4 },
                                 { { AF_INET6, k_others, true }, o6 } });
  const SocketCensus c = replay(path);
  ASSERT_TRUE(c.available) << c.error;
  EXPECT_EQ(c.total, 8U);
  EXPECT_EQ(c.listeners, 2U);
  EXPECT_EQ(c.states[static_cast<std::size_t>(TcpState::time_wait)], 5U);
  EXPECT_EQ(c.time_wait.outbound, 3U);
  EXPECT_EQ(c.time_wait.inbound, 2U);
  EXPECT_EQ(c.time_wait.unknown, 0U);
  ASSERT_TRUE(c.port_range.has_value());
  EXPECT_EQ(c.port_range->low, 40000U);
  EXPECT_EQ(c.usable_ports, 1000U);
  EXPECT_EQ(c.timestamps.outbound_established, 1U);
  EXPECT_EQ(c.timestamps.with_timestamps, 1U);
  ASSERT_EQ(c.groups.size(), 2U);
  EXPECT_EQ(c.groups[0].remote, "198.18.1.2");
  EXPECT_EQ(c.groups[0].in_use, 3U);
  EXPECT_EQ(c.groups[1].remote, "fd00:198:18:1::2");
  EXPECT_TRUE(c.notes.empty()) << c.notes.front();
}

TEST_F(DumpFileTest, SectionsLargerThanTheReceiveBufferAreStreamed)
{
  // 3000 TIME_WAIT replies of 88 bytes: about 4 fills of the 64 KiB buffer, with messages cut at
  // every boundary (64 KiB is no multiple of 88).
  Replies big(9);
  for (std::uint16_t i = 0; i < 3000; ++i) {
    big.sock(AF_INET,
             6,
             "198.18.1.1",
             static_cast<std::uint16_t>(40000 + i % 1000),
             "198.18.1.2",
             static_cast<std::uint16_t>(8000 + i / 1000));
  }
  big.done();
  ASSERT_GT(big.bytes().size(), std::size_t{ 3 } * 65536);
  Replies empty4(1);
  empty4.done();
  Replies empty6(2);
  empty6.done();
  Replies none6(3);
  none6.done();
  const fs::path path = record({ { { AF_INET, k_listen, false }, empty4 },
                                 { { AF_INET6, k_listen, false }, empty6 },
                                 { { AF_INET, k_others, true }, big },
                                 { { AF_INET6, k_others, true }, none6 } });
  const SocketCensus c = replay(path);
  ASSERT_TRUE(c.available) << c.error;
  EXPECT_EQ(c.time_wait.outbound, 3000U);
  EXPECT_EQ(c.group_count, 3U);
  for (const auto& g : c.groups) {
    EXPECT_EQ(g.time_wait, 1000U) << g.remote_port;
  }
  EXPECT_TRUE(c.notes.empty()) << c.notes.front();
}

TEST_F(DumpFileTest, AnIpv6ErrorReplaysAsTheSameNote)
{
  Replies l4(1);
  l4.done();
  Replies l6(2);
  l6.error(EAFNOSUPPORT);
  Replies o4(3);
  o4.sock(AF_INET, 6, "198.18.1.1", 40001, "198.18.1.2", 8080).done();
  // The census skips IPv6 after the first refusal, so three sections make the whole recording.
  const fs::path path = record({ { { AF_INET, k_listen, false }, l4 },
                                 { { AF_INET6, k_listen, false }, l6 },
                                 { { AF_INET, k_others, true }, o4 } });
  const SocketCensus c = replay(path);
  ASSERT_TRUE(c.available) << c.error;
  EXPECT_EQ(c.time_wait.outbound, 1U);
  ASSERT_EQ(c.notes.size(), 1U);
  EXPECT_EQ(c.notes[0],
            "IPv6 sockets were not counted: sock_diag dump (AF_INET6): " + errno_text(EAFNOSUPPORT));
  DumpFileReader r(path);
  RecordedDump d;
  std::string why;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r.next_dump(d, why)) << why;
  }
  EXPECT_TRUE(r.at_end());
}

TEST_F(DumpFileTest, DamagedRecordingsFailWithTheReason)
{
  Replies l4(1);
  l4.sock(AF_INET, 10, "0.0.0.0", 22, "0.0.0.0", 0).done();
  Replies no_done(2);
  no_done.sock(AF_INET6, 10, "::", 443, "::", 0);

  // A section without NLMSG_DONE (a live dump never ends so).
  const fs::path path =
    record({ { { AF_INET, k_listen, false }, l4 }, { { AF_INET6, k_listen, false }, no_done } });
  SocketCensus c = replay(path);
  EXPECT_FALSE(c.available);
  EXPECT_NE(c.error.find("the recorded dump ends before NLMSG_DONE (AF_INET6)"), std::string::npos)
    << c.error;

  // Too few sections: the census asks for a dump the recording does not hold.
  const fs::path short_rec = record({ { { AF_INET, k_listen, false }, l4 } });
  c = replay(short_rec);
  EXPECT_FALSE(c.available);
  EXPECT_NE(c.error.find("the recording ends before the dump of AF_INET6 states=0x00000400 tcp_info=no"),
            std::string::npos)
    << c.error;

  // Another order of dumps (another version of the census).
  const fs::path other = record({ { { AF_INET, k_others, true }, l4 } });
  c = replay(other);
  EXPECT_FALSE(c.available);
  EXPECT_NE(c.error.find("the recording's next dump is AF_INET states=0x"), std::string::npos) << c.error;

  // A file cut off inside a section.
  std::string text = text_of(path);
  const fs::path cut = m_dir / "cut.twdump";
  std::ofstream(cut, std::ios::binary) << text.substr(0, text.size() - 30);
  c = replay(cut);
  EXPECT_FALSE(c.available);
  EXPECT_NE(c.error.find("cut off"), std::string::npos) << c.error;
}

TEST_F(DumpFileTest, TheHeaderIsReadStrictly)
{
  const auto write = [this](const std::string& text) {
    const fs::path p = m_dir / "h.twdump";
    std::ofstream(p, std::ios::binary) << text;
    return p;
  };
  const auto error_of = [](const fs::path& p) -> std::string {
    try {
      DumpFileReader r(p);
    } catch (const Error& e) {
      return std::string(e.subject()) + ": " + e.reason();
    }
    return "";
  };
  const std::string other_order = std::endian::native == std::endian::little ? "big" : "little";
  const std::string order = std::endian::native == std::endian::little ? "little" : "big";
  EXPECT_NE(error_of(write("State Recv-Q\n")).find("not a census recording"), std::string::npos);
  EXPECT_NE(error_of(write("tw-advisor sock_diag recording 2\n\n"))
              .find(":1: recording format version 2; this "
                    "tw-advisor reads version 1"),
            std::string::npos);
  EXPECT_NE(
    error_of(write("tw-advisor sock_diag recording 1\nbyte-order " + other_order + "\ntimestamps yes\n\n"))
      .find(":2: recorded on a " + other_order + "-endian host"),
    std::string::npos);
  EXPECT_NE(error_of(write("tw-advisor sock_diag recording 1\nbyte-order " + order + "\ncolour blue\n\n"))
              .find(":3: unknown header line \"colour\""),
            std::string::npos);
  EXPECT_NE(
    error_of(write("tw-advisor sock_diag recording 1\nbyte-order " + order + "\nsysctl a.b maybe 0 x\n\n"))
      .find(":3: malformed sysctl line"),
    std::string::npos);
  EXPECT_NE(error_of(write("tw-advisor sock_diag recording 1\nbyte-order " + order + "\ntimestamps yes\n"))
              .find("does not end with an empty line"),
            std::string::npos);
  EXPECT_NE(
    error_of(write("tw-advisor sock_diag recording 1\ntimestamps yes\n\n")).find("lacks its byte-order"),
    std::string::npos);
  EXPECT_NE(error_of(m_dir / "missing.twdump").find(errno_text(ENOENT)), std::string::npos);
  EXPECT_NE(error_of(m_dir).find(errno_text(EISDIR)), std::string::npos);
  // A well-formed header with a malformed section line.
  const fs::path bad_section =
    write("tw-advisor sock_diag recording 1\nbyte-order " + order + "\ntimestamps yes\n\ndump AF_UNIX x\n");
  DumpFileReader r(bad_section);
  RecordedDump d;
  std::string why;
  EXPECT_FALSE(r.next_dump(d, why));
  EXPECT_NE(why.find("section 1 starts with a malformed line \"dump AF_UNIX x\""), std::string::npos) << why;
}

// The committed recordings were made by `census --dump-file` in two namespaces joined by veth,
// with real sockets (tests/data/census-dumps/make-recordings): the client connected 20 times over
// IPv4 and 10 times over IPv6 closing first, 12 times to a server that closes first, and held 3 + 2
// connections open; the script checked that each replay printed what its live run printed. These
// are the exact counts that live run printed.
TEST_F(DumpFileTest, CommittedRecordingsDecodeToTheirLiveCensus)
{
  const fs::path dir = fs::path(TW_TEST_DATA_DIR) / "census-dumps";
  const SocketCensus client = replay(dir / "client.twdump", 50);
  ASSERT_TRUE(client.available) << client.error;
  EXPECT_EQ(client.total, 35U);
  EXPECT_EQ(client.states[static_cast<std::size_t>(TcpState::time_wait)], 30U);
  EXPECT_EQ(client.states[static_cast<std::size_t>(TcpState::established)], 5U);
  EXPECT_EQ(client.time_wait.outbound, 30U);
  EXPECT_EQ(client.time_wait.inbound, 0U);
  EXPECT_EQ(client.time_wait.unknown, 0U);
  EXPECT_EQ(client.listeners, 0U);
  ASSERT_TRUE(client.port_range.has_value());
  EXPECT_EQ(client.port_range->low, 40000U);
  EXPECT_EQ(client.port_range->high, 40999U);
  EXPECT_EQ(client.usable_ports, 1000U);
  EXPECT_EQ(client.timestamps.outbound_established, 5U);
  EXPECT_EQ(client.timestamps.with_timestamps, 5U);
  ASSERT_EQ(client.groups.size(), 2U);
  EXPECT_EQ(client.groups[0].family, AF_INET);
  EXPECT_EQ(client.groups[0].local, "198.18.250.1");
  EXPECT_EQ(client.groups[0].remote, "198.18.250.2");
  EXPECT_EQ(client.groups[0].remote_port, 8080);
  EXPECT_EQ(client.groups[0].in_use, 23U);
  EXPECT_EQ(client.groups[0].time_wait, 20U);
  EXPECT_EQ(client.groups[0].outbound_established, 3U);
  EXPECT_EQ(client.groups[0].with_timestamps, 3U);
  EXPECT_EQ(client.groups[1].family, AF_INET6);
  EXPECT_EQ(client.groups[1].local, "fd00:198:18:fa::1");
  EXPECT_EQ(client.groups[1].remote, "fd00:198:18:fa::2");
  EXPECT_EQ(client.groups[1].in_use, 12U);
  EXPECT_EQ(client.groups[1].time_wait, 10U);
  EXPECT_EQ(client.groups[1].with_timestamps, 2U);
  EXPECT_TRUE(client.notes.empty());

  // The server listens on "::" (dual-stack) and closed the IPv4 connections to 8443 first: its
  // TIME_WAIT comes IPv4-mapped in the AF_INET6 dump and is inbound.
  const SocketCensus server = replay(dir / "server.twdump", 50);
  ASSERT_TRUE(server.available) << server.error;
  EXPECT_EQ(server.total, 19U);
  EXPECT_EQ(server.listeners, 2U);
  EXPECT_EQ(server.states[static_cast<std::size_t>(TcpState::listen)], 2U);
  EXPECT_EQ(server.states[static_cast<std::size_t>(TcpState::established)], 5U);
  EXPECT_EQ(server.time_wait.inbound, 12U);
  EXPECT_EQ(server.time_wait.outbound, 0U);
  EXPECT_EQ(server.time_wait.unknown, 0U);
  EXPECT_EQ(server.usable_ports, 28232U) << "a new namespace's default range, as recorded";
  EXPECT_TRUE(server.groups.empty());
  EXPECT_EQ(server.timestamps.outbound_established, 0U);
  EXPECT_TRUE(server.notes.empty());
}

} // namespace
} // namespace tw
