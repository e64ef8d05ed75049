// Socket owners, as `ss -p` finds them: every process's open sockets (one pass of a BPF task_file
// iterator, or one walk of /proc/PID/fd with a readlink of every fd) matched by inode against the
// sockets the census wants named.
#include "facts/processes.hpp"

#include "facts/census.hpp"
#include "facts/netns.hpp"
#include "facts/owners_iter.hpp"
#include "model/census.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <unistd.h>
#include <unordered_map>

namespace tw {

namespace {

bool wanted_state(std::uint8_t state, bool outbound)
{
  const auto s = static_cast<TcpState>(state);
  if (s == TcpState::close_wait) {
    return true; // a leak shows whoever opened it
  }
  return outbound && (s == TcpState::established || s == TcpState::syn_sent);
}

// Closes a directory stream (and its fd) when the walk leaves a scope by any path.
struct DirCloser
{
  void operator()(DIR* d) const
  {
    if (d != nullptr) {
      closedir(d);
    }
  }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

bool all_digits(const char* s)
{
  if (*s == '\0') {
    return false;
  }
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') {
      return false;
    }
  }
  return true;
}

void count_state(ConnectionCounts& c, std::uint8_t state)
{
  switch (static_cast<TcpState>(state)) {
    case TcpState::established:
      ++c.established;
      break;
    case TcpState::syn_sent:
      ++c.syn_sent;
      break;
    case TcpState::close_wait:
      ++c.close_wait;
      break;
    default:
      break;
  }
}

// A command-line word that names a secret: --password, --token=, api_key ...
bool looks_secret(std::string_view word)
{
  std::string lower(word.substr(0, word.find('=')));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* s : { "pass", "token", "secret", "key", "auth", "cred" }) {
    if (lower.find(s) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// A word as plan and census may show it: the value of a secret-looking option (--token=X, the
// word after --password), mysql's -pX and the user:password of a URL become "***".
std::string redact_word(std::string_view word, bool masked)
{
  if (masked) {
    return "***";
  }
  std::string w(word);
  if (const auto scheme = w.find("://"); scheme != std::string::npos) {
    const auto at = w.find('@', scheme + 3);
    const auto slash = w.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      return w.substr(0, scheme + 3) + "***" + w.substr(at);
    }
  }
  if (w.size() > 1 && w[0] == '-' && looks_secret(w)) {
    if (const auto eq = w.find('='); eq != std::string::npos) {
      return w.substr(0, eq + 1) + "***";
    }
  }
  if (w.size() > 2 && w[0] == '-' && w[1] == 'p' && w[2] != '-') {
    return "-p***"; // mysql -pSECRET
  }
  return w;
}

// One process's wanted sockets while the walk runs: by endpoint index.
struct Holder
{
  std::uint32_t pid = 0;
  ConnectionCounts connections;
  std::map<std::uint32_t, ConnectionCounts> by_endpoint;
  std::uint64_t oldest_close_wait_ms = 0;
};

} // namespace

SocketWants::SocketWants(std::size_t cap)
  : m_cap(cap)
{
}

void SocketWants::add(const SockRecord& rec, bool outbound)
{
  if (rec.inode == 0 || !wanted_state(rec.state, outbound)) {
    return;
  }
  if (m_sockets.size() >= m_cap) {
    ++m_not_asked;
    return;
  }
  // Outbound: the peer it connected to. Otherwise the local endpoint the service accepted on.
  Endpoint e;
  e.inbound = !outbound;
  e.family = rec.family;
  e.address = e.inbound ? rec.local : rec.remote;
  e.port = e.inbound ? rec.local_port : rec.remote_port;
  const auto [it, added] = m_endpoint_index.try_emplace(e, static_cast<std::uint32_t>(m_endpoints.size()));
  if (added) {
    m_endpoints.push_back(e);
  }
  m_sockets.push_back({ rec.inode, it->second, rec.last_ack_recv_ms, rec.state });
  m_sealed = false;
}

std::size_t SocketWants::EndpointHash::operator()(const Endpoint& e) const
{
  std::uint64_t h = 1469598103934665603ULL; // FNV-1a over the bytes that make the key
  const auto byte = [&h](std::uint8_t b) {
    h ^= b;
    h *= 1099511628211ULL;
  };
  for (const auto b : e.address) {
    byte(b);
  }
  byte(static_cast<std::uint8_t>(e.port >> 8));
  byte(static_cast<std::uint8_t>(e.port & 0xff));
  byte(e.family);
  byte(e.inbound ? 1 : 0);
  return static_cast<std::size_t>(h);
}

std::string SocketWants::text(const Endpoint& e)
{
  return endpoint_text(e.family, format_address(e.family, e.address), e.port);
}

void SocketWants::seal()
{
  std::sort(
    m_sockets.begin(), m_sockets.end(), [](const Socket& a, const Socket& b) { return a.inode < b.inode; });
  m_sealed = true;
}

const SocketWants::Socket* SocketWants::find(std::uint64_t inode) const
{
  if (!m_sealed) {
    return nullptr;
  }
  const auto it = std::lower_bound(
    m_sockets.begin(), m_sockets.end(), inode, [](const Socket& s, std::uint64_t v) { return s.inode < v; });
  return it != m_sockets.end() && it->inode == inode ? &*it : nullptr;
}

std::uint64_t socket_inode_of_link(std::string_view link)
{
  constexpr std::string_view prefix = "socket:[";
  if (link.size() <= prefix.size() + 1 || link.substr(0, prefix.size()) != prefix || link.back() != ']') {
    return 0;
  }
  std::uint64_t v = 0;
  for (std::size_t i = prefix.size(); i + 1 < link.size(); ++i) {
    const char c = link[i];
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) {
      return 0;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string cmdline_words(std::string_view raw, std::size_t max_chars)
{
  std::string out;
  bool masked_next = false; // the word after "--password" and the like
  std::size_t at = 0;
  while (at < raw.size()) {
    std::size_t end = raw.find('\0', at);
    if (end == std::string_view::npos) {
      end = raw.size();
    }
    std::string_view word = raw.substr(at, end - at);
    at = end + 1;
    if (word.empty()) {
      continue;
    }
    if (out.empty() && word.find('/') != std::string_view::npos && word.back() != '/' &&
        word.find(' ') == std::string_view::npos) { // "sshd: alice@pts/0" is a title, not a path
      word = word.substr(word.rfind('/') + 1);      // the program's name, not its install path
    }
    const std::string redacted = redact_word(word, masked_next);
    masked_next =
      looks_secret(word) && word.find('=') == std::string_view::npos && word.size() > 1 && word[0] == '-';
    if (!out.empty() && out.size() + 1 + redacted.size() > max_chars) {
      out += " ...";
      break;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out += redacted.size() > max_chars ? redacted.substr(0, max_chars) + "..." : redacted;
  }
  return out;
}

std::string container_label(std::string_view cgroup_text)
{
  const CgroupOwner owner = cgroup_owner(cgroup_text);
  if (!owner.pod.empty()) {
    return "pod " + owner.pod;
  }
  if (!owner.container.empty()) {
    return owner.runtime + " " + owner.container.substr(0, 12);
  }
  if (!owner.unit.empty()) {
    return owner.unit;
  }
  return {};
}

namespace {

// Counts one found wanted socket for the process holding it.
void take(Holder& h, const SocketWants::Socket& s)
{
  count_state(h.connections, s.state);
  count_state(h.by_endpoint[s.endpoint], s.state);
  if (static_cast<TcpState>(s.state) == TcpState::close_wait) {
    h.oldest_close_wait_ms = std::max<std::uint64_t>(h.oldest_close_wait_ms, s.last_ack_recv_ms);
  }
}

// The holders from one pass of the kernel's task_file iterator; false (reader_note set) when it
// cannot be used.
bool holders_from_iterator(const SocketWants& wants,
                           ProcessAttribution& out,
                           std::vector<Holder>& holders,
                           std::vector<std::uint8_t>& found)
{
  const SocketFdScan scan = scan_socket_fds();
  if (!scan.ok) {
    out.reader_note = scan.error;
    spdlog::debug("owners: the task_file iterator is not used: {}", scan.error);
    return false;
  }
  spdlog::debug("owners: task_file iterator loaded in {:.1f} ms, read {} files in {} tables in {:.1f} ms",
                scan.load_ms,
                scan.files,
                scan.tables,
                scan.read_ms);
  // (pid, wanted socket) once each: a socket in two fds of a process (dup, a thread with a table
  // of its own, every thread of a process whose leader exited) is one connection of it.
  std::vector<std::pair<std::uint32_t, std::size_t>> pairs;
  for (const SocketFd& f : scan.socket_fds) {
    if (const SocketWants::Socket* s = wants.find(f.inode); s != nullptr) {
      pairs.emplace_back(f.pid, wants.index_of(s));
    }
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  for (const auto& [pid, socket] : pairs) {
    if (holders.empty() || holders.back().pid != pid) {
      holders.emplace_back().pid = pid;
    }
    found[socket] = 1;
    take(holders.back(), wants.socket(socket));
  }
  out.reader = "bpf-iter";
  out.processes_scanned = scan.tables;
  out.fds_scanned = scan.files;
  return true;
}

// The holders from one walk of <proc_root>/PID/fd; false (reason set) when proc_root cannot be read.
bool holders_from_proc(const SocketWants& wants,
                       const std::filesystem::path& proc_root,
                       ProcessAttribution& out,
                       std::vector<Holder>& holders,
                       std::vector<std::uint8_t>& found)
{
  const DirPtr proc(opendir(proc_root.c_str()));
  if (!proc) {
    out.reason = "cannot read " + proc_root.string() + ": " + errno_text(errno);
    return false;
  }
  out.reader = "proc-walk";
  std::array<char, 64> link{};
  std::vector<std::size_t> sockets;
  while (const dirent* pe = readdir(proc.get())) {
    if (!all_digits(pe->d_name)) {
      continue;
    }
    const std::string fd_dir = std::string(pe->d_name) + "/fd";
    const int dfd = openat(dirfd(proc.get()), fd_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      if (errno == ENOENT || errno == ESRCH) {
        ++out.processes_vanished; // it exited between the listing and here
      } else {
        ++out.processes_unreadable; // EACCES as non-root; EMFILE, ENOMEM ...: not read, and said
      }
      continue;
    }
    const DirPtr fds(fdopendir(dfd));
    if (!fds) {
      close(dfd);
      ++out.processes_vanished;
      continue;
    }
    ++out.processes_scanned;
    Holder h;
    h.pid = static_cast<std::uint32_t>(std::strtoul(pe->d_name, nullptr, 10));
    sockets.clear(); // the wanted sockets of this process, once each (a dup'ed fd is one connection)
    bool vanished = false;
    for (;;) {
      errno = 0; // readdir leaves errno alone at the end: only a failure of this call sets it
      const dirent* fe = readdir(fds.get());
      if (fe == nullptr) {
        vanished = errno == ENOENT || errno == ESRCH; // the task went away while listed
        break;
      }
      if (fe->d_name[0] == '.') {
        continue;
      }
      ++out.fds_scanned;
      const ssize_t n = readlinkat(dirfd(fds.get()), fe->d_name, link.data(), link.size());
      if (n <= 0 || static_cast<std::size_t>(n) >= link.size()) {
        continue; // closed meanwhile, or a long path: never a socket
      }
      const std::uint64_t inode =
        socket_inode_of_link(std::string_view(link.data(), static_cast<std::size_t>(n)));
      const SocketWants::Socket* s = inode != 0 ? wants.find(inode) : nullptr;
      if (s == nullptr) {
        continue;
      }
      sockets.push_back(wants.index_of(s));
    }
    std::sort(sockets.begin(), sockets.end());
    sockets.erase(std::unique(sockets.begin(), sockets.end()), sockets.end());
    for (const std::size_t socket : sockets) {
      found[socket] = 1;
      take(h, wants.socket(socket));
    }
    if (vanished) {
      ++out.processes_vanished;
    }
    if (h.connections.total() > 0) {
      holders.push_back(std::move(h));
    }
  }
  return true;
}

} // namespace

ProcessAttribution attribute_processes(const SocketWants& wants, const AttributionOptions& options)
{
  ProcessAttribution out;
  out.sockets_wanted = wants.size();
  out.sockets_not_asked = wants.not_asked();
  if (wants.size() == 0) {
    out.reason = "no live outbound or CLOSE_WAIT connections to attribute";
    return out;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<Holder> holders;
  std::vector<std::uint8_t> found(wants.size(), 0); // distinct sockets found (a fork shares them)
  if (!(options.try_iterator && holders_from_iterator(wants, out, holders, found)) &&
      !holders_from_proc(wants, options.proc_root, out, holders, found)) {
    return out;
  }
  out.walked = true;
  out.sockets_found = static_cast<std::uint64_t>(std::count(found.begin(), found.end(), 1));
  out.process_count = holders.size();
  // The top by connections, and the top by CLOSE_WAIT: a leaking process behind busy pools stays.
  std::sort(holders.begin(), holders.end(), [](const Holder& a, const Holder& b) {
    return a.connections.close_wait != b.connections.close_wait
             ? a.connections.close_wait > b.connections.close_wait
             : a.pid < b.pid;
  });
  const std::size_t by_close_wait = std::min(holders.size(), options.top_processes / 2);
  std::stable_sort(
    holders.begin() + static_cast<std::ptrdiff_t>(by_close_wait),
    holders.end(),
    [](const Holder& a, const Holder& b) { return a.connections.total() > b.connections.total(); });
  if (holders.size() > options.top_processes) {
    holders.resize(options.top_processes);
  }
  std::stable_sort(holders.begin(), holders.end(), [](const Holder& a, const Holder& b) {
    return a.connections.total() != b.connections.total() ? a.connections.total() > b.connections.total()
                                                          : a.pid < b.pid;
  });
  for (const Holder& h : holders) {
    ProcessConnections p;
    p.pid = h.pid;
    p.connections = h.connections;
    p.oldest_close_wait_ms = h.oldest_close_wait_ms;
    const std::filesystem::path dir = options.proc_root / std::to_string(h.pid);
    // What the process no longer has (it exited since the walk) reads as empty. Control bytes
    // (a comm or argv may hold any) are escaped: JSON readers and terminals get plain text.
    const auto small = [&dir](const char* name) {
      auto r = read_file(dir / name, 65536);
      return r ? std::move(*r) : std::string();
    };
    p.comm = printable(trim(small("comm")));
    p.cmdline = printable(cmdline_words(small("cmdline")));
    const std::string cgroup_text = small("cgroup");
    p.cgroup = printable(cgroup_v2_path(cgroup_text));
    p.container = container_label(cgroup_text);
    for (const auto& [endpoint, counts] : h.by_endpoint) {
      const SocketWants::Endpoint& e = wants.endpoints()[endpoint];
      p.destinations.push_back({ SocketWants::text(e), e.inbound, counts });
    }
    std::stable_sort(p.destinations.begin(), p.destinations.end(), [](const auto& a, const auto& b) {
      return a.connections.total() > b.connections.total();
    });
    if (p.destinations.size() > options.top_destinations) {
      p.destinations.resize(options.top_destinations);
    }
    out.processes.push_back(std::move(p));
  }
  out.walk_ms = ms_since(start);
  return out;
}

} // namespace tw
