// Socket owners by one walk of a /proc tree: a fake tree of symlinks, as /proc/PID/fd shows them.
#include "facts/processes.hpp"
#include "model/census.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <filesystem>
#include <fstream>
#include <sys/socket.h>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

class FakeProc
{
public:
  FakeProc()
    : m_root(fs::temp_directory_path() / ("twa-fakeproc-" + std::to_string(::getpid())))
  {
    fs::remove_all(m_root);
    fs::create_directories(m_root);
  }
  ~FakeProc() { fs::remove_all(m_root); }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  // A process with its comm, cmdline (NUL-separated) and cgroup, and fds pointing at targets.
  void process(int pid,
               const std::string& comm,
               const std::string& cmdline,
               const std::string& cgroup,
               const std::vector<std::string>& fd_targets) const
  {
    const fs::path dir = m_root / std::to_string(pid);
    fs::create_directories(dir / "fd");
    std::ofstream(dir / "comm") << comm << "\n";
    std::ofstream(dir / "cmdline", std::ios::binary) << cmdline;
    std::ofstream(dir / "cgroup") << cgroup;
    int fd = 0;
    for (const auto& t : fd_targets) {
      fs::create_symlink(t, dir / "fd" / std::to_string(fd++));
    }
  }
  const fs::path& root() const { return m_root; }

private:
  fs::path m_root;
};

SockRecord record(std::uint32_t inode,
                  TcpState state,
                  const char* local,
                  std::uint16_t lport,
                  const char* remote,
                  std::uint16_t rport)
{
  SockRecord r;
  r.family = AF_INET;
  r.state = static_cast<std::uint8_t>(state);
  r.inode = inode;
  r.local_port = lport;
  r.remote_port = rport;
  inet_pton(AF_INET, local, r.local.data());
  inet_pton(AF_INET, remote, r.remote.data());
  return r;
}

TEST(FactsProcesses, SocketLinksAndCommandLines)
{
  EXPECT_EQ(socket_inode_of_link("socket:[12345]"), 12345U);
  EXPECT_EQ(socket_inode_of_link("socket:[]"), 0U);
  EXPECT_EQ(socket_inode_of_link("socket:[12a]"), 0U);
  EXPECT_EQ(socket_inode_of_link("pipe:[12]"), 0U);
  EXPECT_EQ(socket_inode_of_link("/dev/null"), 0U);
  EXPECT_EQ(cmdline_words(std::string("python3\0app.py\0--workers\0", 25)), "python3 app.py --workers");
  EXPECT_EQ(cmdline_words(std::string("a\0bbbbbbbbbb\0c\0", 15), 8), "a ...");
  EXPECT_EQ(cmdline_words(""), "");
  EXPECT_EQ(cmdline_words(std::string("/usr/bin/python3\0/srv/app.py\0", 30)), "python3 /srv/app.py");
  EXPECT_EQ(cmdline_words(std::string("sshd: alice@pts/0\0", 18)), "sshd: alice@pts/0");
  EXPECT_EQ(cmdline_words(std::string("mysql\0-pS3cret\0--password\0hunter2\0--token=abc\0db\0", 49)),
            "mysql -p*** --password *** --token=*** db");
  EXPECT_EQ(cmdline_words(std::string("app\0postgres://u:pw@db:5432/x\0--config=/etc/a\0", 46)),
            "app postgres://***@db:5432/x --config=/etc/a");
  EXPECT_EQ(container_label("0::/system.slice/nginx.service\n"), "nginx.service");
}

TEST(FactsProcesses, OnlyWantedSocketsAreKeptAndTheCapIsCounted)
{
  SocketWants wants(2);
  wants.add(record(1, TcpState::established, "198.18.0.2", 40000, "198.18.0.1", 8080), true);
  wants.add(record(2, TcpState::established, "198.18.0.2", 8080, "198.18.0.9", 50000), false); // accepted
  wants.add(record(0, TcpState::time_wait, "198.18.0.2", 40001, "198.18.0.1", 8080), true);    // no inode
  wants.add(record(3, TcpState::close_wait, "198.18.0.2", 80, "198.18.0.9", 50001), false);
  wants.add(record(4, TcpState::syn_sent, "198.18.0.2", 40002, "198.18.0.1", 8080), true); // over the cap
  wants.seal();
  EXPECT_EQ(wants.size(), 2U);
  EXPECT_EQ(wants.not_asked(), 1U);
  ASSERT_NE(wants.find(3), nullptr);
  EXPECT_EQ(SocketWants::text(wants.endpoints()[wants.find(3)->endpoint]), "198.18.0.2:80");
  EXPECT_TRUE(wants.endpoints()[wants.find(3)->endpoint].inbound);
  EXPECT_EQ(wants.find(2), nullptr);
}

TEST(FactsProcesses, OwnersAreFoundNamedAndRankedAndVanishedOnesCounted)
{
  FakeProc proc;
  proc.process(100,
               "client",
               std::string("python3\0app.py\0", 15),
               "0::/system.slice/app.service\n",
               { "socket:[11]", "/dev/null", "socket:[12]", "pipe:[5]" });
  proc.process(200,
               "server",
               std::string("srv\0", 4),
               "0::/\n",
               { "socket:[21]", "socket:[22]", "socket:[23]", "socket:[21]" });
  proc.process(300, "idle", "", "", { "socket:[99]" });
  fs::create_directories(proc.root() / "400"); // exited: its fd table is gone
  fs::create_directories(proc.root() / "self");

  SocketWants wants;
  wants.add(record(11, TcpState::established, "198.18.0.2", 40000, "198.18.0.1", 8080), true);
  wants.add(record(12, TcpState::syn_sent, "198.18.0.2", 40001, "198.18.0.1", 8080), true);
  for (std::uint32_t i = 21; i <= 23; ++i) {
    auto r =
      record(i, TcpState::close_wait, "198.18.0.2", 80, "198.18.0.9", static_cast<std::uint16_t>(50000 + i));
    r.last_ack_recv_ms = 1000 * i;
    wants.add(r, false);
  }
  wants.add(record(31, TcpState::established, "198.18.0.2", 40002, "198.18.0.1", 8080), true); // nobody's
  wants.seal();

  const ProcessAttribution a =
    attribute_processes(wants, { .proc_root = proc.root(), .top_processes = 10, .top_destinations = 5 });
  EXPECT_TRUE(a.walked);
  EXPECT_EQ(a.reader, "proc-walk"); // a proc root of its own: the iterator was not asked for
  EXPECT_TRUE(a.reader_note.empty()) << a.reader_note;
  EXPECT_EQ(a.sockets_wanted, 6U);
  EXPECT_EQ(a.sockets_found, 5U);
  EXPECT_EQ(a.process_count, 2U);
  EXPECT_EQ(a.processes_scanned, 3U);
  EXPECT_EQ(a.processes_vanished, 1U);
  EXPECT_EQ(a.fds_scanned, 9U);
  ASSERT_EQ(a.processes.size(), 2U);
  const ProcessConnections& server = a.processes[0]; // 3 connections rank above 2
  EXPECT_EQ(server.pid, 200U);
  EXPECT_EQ(server.comm, "server");
  EXPECT_EQ(server.connections.close_wait, 3U) << "socket 21 in two fds (dup) is one connection";
  EXPECT_EQ(server.oldest_close_wait_ms, 23000U);
  ASSERT_EQ(server.destinations.size(), 1U);
  EXPECT_EQ(server.destinations[0].destination, "198.18.0.2:80");
  EXPECT_TRUE(server.destinations[0].inbound);
  const ProcessConnections& client = a.processes[1];
  EXPECT_EQ(client.pid, 100U);
  EXPECT_EQ(client.cmdline, "python3 app.py");
  EXPECT_EQ(client.cgroup, "/system.slice/app.service");
  EXPECT_EQ(client.container, "app.service");
  EXPECT_EQ(client.connections.established, 1U);
  EXPECT_EQ(client.connections.syn_sent, 1U);
  ASSERT_EQ(client.destinations.size(), 1U);
  EXPECT_EQ(client.destinations[0].destination, "198.18.0.1:8080");
  EXPECT_EQ(client.destinations[0].connections.total(), 2U);
}

TEST(FactsProcesses, NothingWantedMeansNoWalkAndAMissingProcSaysWhy)
{
  SocketWants none;
  none.seal();
  const ProcessAttribution a = attribute_processes(none, { "/nonexistent-proc" });
  EXPECT_FALSE(a.walked);
  EXPECT_NE(a.reason.find("no live outbound"), std::string::npos) << a.reason;
  SocketWants one;
  one.add(record(1, TcpState::close_wait, "198.18.0.2", 80, "198.18.0.9", 5000), false);
  one.seal();
  const ProcessAttribution b = attribute_processes(one, { "/nonexistent-proc" });
  EXPECT_FALSE(b.walked);
  EXPECT_NE(b.reason.find("/nonexistent-proc"), std::string::npos) << b.reason;
}

} // namespace
} // namespace tw::test
