#include "facts/kernel_view.hpp"

#include "facts/sock_diag.hpp"
#include "model/census.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <fnmatch.h>
#include <glob.h>
#include <map>
#include <memory>
#include <set>
#include <sys/socket.h>
#include <utility>

namespace tw {

namespace fs = std::filesystem;

namespace {

// Listening TCP ports of this network namespace from sock_diag (both families); nullopt on failure.
std::optional<std::vector<std::uint16_t>> sock_diag_listeners(std::string& note)
{
  SockDiag diag;
  if (!diag.ok()) {
    note = diag.step() + ": " + errno_text(diag.error());
    return std::nullopt;
  }
  std::set<std::uint16_t> ports;
  for (const int family : { AF_INET, AF_INET6 }) {
    const auto r = diag.dump_tcp(family,
                                 state_bit(static_cast<unsigned>(TcpState::listen)),
                                 false,
                                 [&](const SockRecord& rec) { ports.insert(rec.local_port); });
    if (!r.ok && family == AF_INET) {
      note = r.step + ": " + errno_text(r.error);
      return std::nullopt;
    }
  }
  note = "LISTEN sockets from NETLINK_SOCK_DIAG";
  return std::vector<std::uint16_t>(ports.begin(), ports.end());
}

} // namespace

std::vector<std::uint16_t> parse_proc_net_tcp_listeners(std::string_view text)
{
  std::set<std::uint16_t> ports;
  for (const auto line : split(text, '\n')) {
    const auto fields = split_ws(line);
    // "sl local_address rem_address st ...": st 0A is TCP_LISTEN.
    if (fields.size() < 4 || fields[3] != "0A") {
      continue;
    }
    const auto colon = fields[1].rfind(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const auto hex = fields[1].substr(colon + 1);
    std::uint32_t port = 0;
    bool ok = !hex.empty() && hex.size() <= 4;
    for (const char c : hex) {
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : -1;
      if (d < 0) {
        ok = false;
        break;
      }
      port = port * 16 + static_cast<std::uint32_t>(d);
    }
    if (ok) {
      ports.insert(static_cast<std::uint16_t>(port));
    }
  }
  return { ports.begin(), ports.end() };
}

sysctld::KernelView read_kernel_view(const fs::path& proc)
{
  sysctld::KernelView view;
  const fs::path sys = proc / "sys";
  view.read = [sys](const std::string& key) {
    SysctlValue v;
    v.key = key;
    const auto rel = sysctld::key_to_path(key);
    if (rel.find("..") != std::string::npos) {
      v.status = ReadStatus::error;
      v.detail = "not a valid sysctl name";
      return v;
    }
    const auto result = read_file(sys / rel);
    if (result) {
      v.status = ReadStatus::ok;
      v.value = normalize_space(*result);
      return v;
    }
    v.error = result.error();
    v.detail = (sys / rel).string() + ": " + errno_text(result.error());
    v.status = result.error() == ENOENT                                ? ReadStatus::absent
               : (result.error() == EACCES || result.error() == EPERM) ? ReadStatus::denied
                                                                       : ReadStatus::error;
    return v;
  };
  view.expand = [sys](const std::string& pattern) {
    std::vector<std::string> out;
    const auto full = (sys / sysctld::key_to_path(pattern)).string();
    glob_t g{};
    if (::glob(full.c_str(), 0, nullptr, &g) == 0) {
      const auto prefix = sys.string();
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        const std::string path = g.gl_pathv[i];
        if (const auto k = sysctld::normalize_key(path.substr(prefix.size())).key) {
          out.push_back(*k);
        }
      }
    }
    ::globfree(&g);
    return out;
  };
  std::vector<std::uint16_t> ports;
  bool any = false;
  for (const char* name : { "net/tcp", "net/tcp6" }) {
    const auto r = read_file(proc / name);
    if (r) {
      any = true;
      const auto p = parse_proc_net_tcp_listeners(*r);
      ports.insert(ports.end(), p.begin(), p.end());
    }
  }
  if (any) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    view.listening = ports;
    view.listening_note = "from " + (proc / "net/tcp").string() + " and tcp6";
  } else {
    view.listening_note = "could not read " + (proc / "net/tcp").string();
  }
  return view;
}

sysctld::KernelView read_live_kernel_view(const fs::path& proc)
{
  sysctld::KernelView view = read_kernel_view(proc);
  if (proc != "/proc") {
    return view; // a recorded tree: its net/tcp is all there is
  }
  // As ss does: sock_diag first, /proc/net/tcp when netlink cannot be used.
  std::string note;
  if (auto ports = sock_diag_listeners(note)) {
    view.listening = std::move(ports);
    view.listening_note = note;
  } else {
    view.listening_note = note + "; " + view.listening_note;
  }
  return view;
}

namespace {

// The key a message of sysctl's own names, quoted ('KEY' or "KEY"): `sysctl -a 2>&1` mixes its
// "permission denied on key 'net.ipv4.tcp_fastopen_key'" and "reading key
// \"net.ipv6.conf.all.stable_secret\"" into the output. nullopt when there is none.
std::optional<std::string> key_in_message(std::string_view line)
{
  for (const char quote : { '\'', '"' }) {
    const auto open = line.find(quote);
    const auto close = open == std::string_view::npos ? open : line.find(quote, open + 1);
    if (close != std::string_view::npos) {
      if (auto key = sysctld::normalize_key(line.substr(open + 1, close - open - 1)).key) {
        return key;
      }
    }
  }
  return std::nullopt;
}

struct TargetKey
{
  std::string value;
  bool readable = true; // false: sysctl said it could not read it
  std::size_t line = 0;
  std::string message; // sysctl's message, when not readable
};

} // namespace

sysctld::KernelView kernel_view_from_sysctl_a(std::string_view sysctl_a,
                                              const std::string& source,
                                              std::optional<std::vector<std::uint16_t>> listening)
{
  auto keys = std::make_shared<std::map<std::string, TargetKey>>();
  std::size_t number = 0;
  bool first = true;
  std::string previous; // the key of the line before: a value of several lines repeats its key
  for (auto line : split(sysctl_a, '\n')) {
    ++number;
    const auto where = [&] { return source + ":" + std::to_string(number); }; // for an error only
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) {
      line.remove_prefix(3); // a byte-order mark an editor left
    }
    const std::string_view text = trim(line);
    if (text.empty()) {
      continue;
    }
    if (std::exchange(first, false) && (text.front() == '{' || text.front() == '[')) {
      throw Error(where(),
                  "this is JSON; --kernel takes the text `sysctl -a` prints on the target "
                  "(\"key = value\" lines)");
    }
    if (text.rfind("sysctl: ", 0) == 0) { // sysctl's own message, from `sysctl -a 2>&1`
      const auto key = key_in_message(text);
      if (!key) {
        throw Error(where(),
                    "a message of sysctl's that names no key: \"" + printable(text.substr(0, 80)) + "\"");
      }
      keys->emplace(*key, TargetKey{ "", false, number, std::string(text) }); // there, unread
      previous.clear();
      continue;
    }
    // "key = value"; an empty value may have lost its trailing space ("key =") in an editor.
    const auto eq = line.find(" =");
    const auto key = eq == std::string_view::npos ? std::optional<std::string>()
                                                  : sysctld::normalize_key(trim(line.substr(0, eq))).key;
    const std::string_view rest = eq == std::string_view::npos ? std::string_view() : line.substr(eq + 2);
    if (!key || (!rest.empty() && rest.front() != ' ' && rest.front() != '\t')) {
      throw Error(where(),
                  "expected \"key = value\" as `sysctl -a` prints it, got \"" +
                    printable(line.substr(0, 80)) + "\"");
    }
    const std::string value = normalize_space(rest);
    const auto [it, added] = keys->emplace(*key, TargetKey{ value, true, number, {} });
    if (!added && *key == previous && it->second.readable) {
      // procps prints a value of several lines (dev.cdrom.info, sunrpc.transports) as one
      // "key = line" each: one value, its lines joined.
      it->second.value = normalize_space(it->second.value + " " + value);
      continue;
    }
    previous = *key;
    if (!added && it->second.readable && it->second.value != value) {
      throw Error(where(),
                  *key + " again, = " + value + " (line " + std::to_string(it->second.line) + ": " +
                    it->second.value + "): the output of more than one host? Give one host's `sysctl -a`");
    }
    if (!added && !it->second.readable) {
      it->second = TargetKey{ value, true, number, {} };
    }
  }
  if (keys->empty()) {
    throw Error(source, "holds no key: give the output of `sysctl -a` on the target host");
  }
  sysctld::KernelView view;
  view.read = [keys, source](const std::string& key) {
    SysctlValue v;
    v.key = key;
    if (const auto it = keys->find(key); it == keys->end()) {
      v.status = ReadStatus::absent;
      v.detail = "not in " + source;
    } else if (!it->second.readable) {
      v.status = ReadStatus::denied;
      v.detail = "not read when " + source + " was made (line " + std::to_string(it->second.line) + ": " +
                 it->second.message + ")";
    } else {
      v.status = ReadStatus::ok;
      v.value = it->second.value;
    }
    return v;
  };
  view.expand = [keys](const std::string& pattern) {
    std::vector<std::string> out;
    const std::string path_pattern = sysctld::key_to_path(pattern);
    for (const auto& [key, value] : *keys) {
      if (::fnmatch(path_pattern.c_str(), sysctld::key_to_path(key).c_str(), FNM_PATHNAME) == 0) {
        out.push_back(key);
      }
    }
    return out;
  };
  view.listening = std::move(listening);
  view.listening_note = view.listening ? "as given by --listening"
                                       : "not known for the target: give them with --listening PORT,PORT...";
  return view;
}

} // namespace tw
