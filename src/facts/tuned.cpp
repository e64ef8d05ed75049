#include "facts/tuned.hpp"

#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "sysctld/parser.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>

namespace tw {

namespace fs = std::filesystem;

namespace {

// A value without its inline comment: TuneD reads its files with Python's ConfigParser and
// inline_comment_prefixes "#", which ends a value at a '#' that follows whitespace.
std::string_view without_comment(std::string_view value)
{
  for (std::size_t i = 1; i < value.size(); ++i) {
    if (value[i] == '#' && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
      return trim(value.substr(0, i));
    }
  }
  return value;
}

} // namespace

TunedProfile parse_tuned_conf(std::string_view text)
{
  TunedProfile out;
  std::string section;
  unsigned number = 0;
  for (const std::string_view raw : split(text, '\n')) {
    ++number;
    const std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view name = trim(line.substr(0, eq));
    const std::string_view value = without_comment(trim(line.substr(eq + 1)));
    if (section == "main" && name == "include") {
      // TuneD splits on ',' and ';'; a leading '-' marks an include that may be missing.
      for (const auto comma : split(value, ',')) {
        for (const auto part : split(comma, ';')) {
          std::string_view include = trim(part);
          if (!include.empty() && include.front() == '-') {
            include = trim(include.substr(1));
          }
          if (!include.empty() && include.find('$') == std::string_view::npos) { // ${variables}: TuneD's
            out.includes.emplace_back(include);
          }
        }
      }
    } else if (section == "sysctl") {
      if (const auto key = sysctld::normalize_key(name).key) {
        out.sysctl.push_back({ *key, normalize_space(value), number });
      }
    }
  }
  return out;
}

namespace {

// Where TuneD looks for a profile: /etc/tuned first (an administrator's copy wins), then the
// shipped ones; newer TuneD keeps both under profiles/. A file already loaded is passed over, as
// TuneD does, so /etc/tuned/X/tuned.conf with include=X reaches the shipped X.
std::optional<fs::path> find_profile(const fs::path& root,
                                     const std::string& name,
                                     const std::set<fs::path>& loaded)
{
  for (const char* dir : { "etc/tuned/profiles", "etc/tuned", "usr/lib/tuned/profiles", "usr/lib/tuned" }) {
    const fs::path file = root / dir / name / "tuned.conf";
    std::error_code ec;
    if (loaded.count(file) == 0 && fs::is_regular_file(file, ec)) {
      return file;
    }
  }
  return std::nullopt;
}

struct Found
{
  std::string value;
  std::string source;
  std::string profile;
};

// The profile's settings with its includes' under them (the including profile wins); each file
// is loaded once (a loop or a diamond of includes ends there).
void collect(const fs::path& root,
             const std::string& name,
             std::set<fs::path>& loaded,
             std::map<std::string, Found>& into)
{
  const auto file = find_profile(root, name, loaded);
  if (!file) {
    return;
  }
  loaded.insert(*file);
  const auto text = read_file(*file);
  if (!text) {
    return;
  }
  const TunedProfile profile = parse_tuned_conf(*text);
  for (const auto& include : profile.includes) {
    collect(root, include, loaded, into);
  }
  const std::string shown = "/" + file->lexically_relative(root).string();
  for (const auto& s : profile.sysctl) {
    into[s.key] = { s.value, shown + ":" + std::to_string(s.line), name };
  }
}

// reapply_sysctl from tuned-main.conf: true unless set to 0/false/no.
bool reapplies_sysctl(const fs::path& root)
{
  const auto text = read_file(root / "etc/tuned/tuned-main.conf");
  if (!text) {
    return true;
  }
  bool reapply = true;
  for (const auto raw : split(*text, '\n')) {
    const auto line = trim(raw);
    const auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string_view::npos ||
        trim(line.substr(0, eq)) != "reapply_sysctl") {
      continue;
    }
    std::string v(without_comment(trim(line.substr(eq + 1))));
    std::transform(
      v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    reapply = !(v == "0" || v == "false" || v == "no" || v == "off");
  }
  return reapply;
}

} // namespace

namespace {

// Where a TuneD daemon's files are and what its reapply_sysctl reaches.
struct TunedView
{
  fs::path root;               // its root directory: the host's, or PROC/PID/root of a container
  std::string shown_prefix;    // put before the paths shown ("" or "/proc/PID/root")
  std::string where;           // after the owner's name ("" or " in a container (pid N)")
  bool running = false;        // its daemon runs now
  bool reaches_sysctld = true; // its /etc/sysctl.d is the one apply writes to
};

std::vector<TunerClaim> claims_of(const TunedView& view, const std::vector<std::string>& keys)
{
  const auto active = read_file(view.root / "etc/tuned/active_profile");
  if (!active) {
    return {};
  }
  const std::vector<std::string_view> names = split_ws(*active);
  if (names.empty()) {
    return {};
  }
  std::map<std::string, Found> settings;
  std::set<fs::path> loaded;
  for (const auto name : names) { // several profiles: the later one wins
    collect(view.root, std::string(name), loaded, settings);
  }
  const bool reapply = reapplies_sysctl(view.root);
  const std::set<std::string> wanted(keys.begin(), keys.end());
  std::vector<TunerClaim> out;
  for (const auto& [key, found] : settings) {
    if (wanted.count(key) == 0) {
      continue;
    }
    TunerClaim c;
    c.owner = "TuneD profile " + found.profile + view.where;
    c.key = key;
    c.value = found.value;
    c.source = view.shown_prefix + found.source;
    c.running = view.running;
    c.overrides_sysctld = !reapply || !view.reaches_sysctld;
    const std::string sets = "TuneD sets it to " + found.value + " at each start or profile switch";
    if (!reapply) {
      c.effect =
        sets + " and does not re-apply /etc/sysctl.d (reapply_sysctl = 0): it undoes apply's change then";
    } else if (!view.reaches_sysctld) {
      c.effect = sets + " and re-applies only its container's /etc/sysctl.d, not the host's where apply " +
                 "persists: it undoes apply's change then";
    } else {
      c.effect =
        sets + ", then re-applies /etc/sysctl.d (reapply_sysctl = 1), so the value apply persists wins again";
    }
    out.push_back(std::move(c));
  }
  return out;
}

// Whether the two paths lead to the same file (device and inode, links followed); nullopt when
// either cannot be followed (gone, or EACCES: /proc/PID/root of another user's process).
std::optional<bool> same_file(const fs::path& a, const fs::path& b)
{
  struct stat sa
  {};
  struct stat sb
  {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) {
    return std::nullopt;
  }
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

} // namespace

std::vector<TunerClaim> read_tuned_claims(const fs::path& root,
                                          const std::vector<std::string>& keys,
                                          bool daemon_running)
{
  TunedView view;
  view.root = root;
  view.running = daemon_running;
  return claims_of(view, keys);
}

namespace {

std::vector<TunerClaim> container_claims(const std::vector<TunedDaemon>& daemons,
                                         const fs::path& proc,
                                         const fs::path& host_root,
                                         std::uint64_t host_netns,
                                         const std::vector<std::string>& keys)
{
  std::vector<TunerClaim> out;
  for (const auto& daemon : daemons) {
    if (daemon.host_root) {
      continue; // the host's own: read from the host's tree
    }
    int err = 0;
    if (host_netns != 0 && namespace_inode(proc / daemon.pid / "ns/net", err).value_or(0) != host_netns) {
      continue; // in a network namespace of its own: the keys it sets there are not the host's
    }
    TunedView view;
    view.root = daemon.root;
    view.shown_prefix = "/proc/" + daemon.pid + "/root";
    view.where = " in a container (pid " + daemon.pid + ")";
    view.running = true;
    view.reaches_sysctld =
      same_file(daemon.root / "etc/sysctl.d", host_root / "etc/sysctl.d").value_or(false);
    auto claims = claims_of(view, keys);
    out.insert(out.end(), std::make_move_iterator(claims.begin()), std::make_move_iterator(claims.end()));
  }
  return out;
}

} // namespace

std::vector<TunerClaim> read_container_tuned_claims(const fs::path& proc,
                                                    const fs::path& host_root,
                                                    std::uint64_t host_netns,
                                                    const std::vector<std::string>& keys)
{
  return container_claims(tuned_daemons(proc, host_root), proc, host_root, host_netns, keys);
}

std::vector<TunerClaim> tuner_claims(const fs::path& root, const std::vector<std::string>& keys)
{
  if (!is_host_tree(root)) {
    return read_tuned_claims(root, keys, false);
  }
  const auto daemons = tuned_daemons("/proc", root);
  const bool host_daemon =
    std::any_of(daemons.begin(), daemons.end(), [](const TunedDaemon& d) { return d.host_root; });
  auto claims = read_tuned_claims(root, keys, host_daemon);
  auto in_containers = container_claims(daemons, "/proc", root, host_netns_inode(), keys);
  claims.insert(claims.end(),
                std::make_move_iterator(in_containers.begin()),
                std::make_move_iterator(in_containers.end()));
  return claims;
}

std::vector<TunedDaemon> tuned_daemons(const fs::path& proc, const fs::path& host_root)
{
  std::vector<TunedDaemon> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc, ec)) {
    const std::string pid = entry.path().filename().string();
    if (!parse_uint(pid)) {
      continue;
    }
    if (const auto comm = read_file(entry.path() / "comm"); comm && trim(*comm) == "tuned") {
      const fs::path root = entry.path() / "root";
      // Without root, /proc/PID/root of another user's process cannot be followed (EACCES): it
      // is not known to be a container's, so it counts as the host's own, as before it was read.
      out.push_back({ pid, root, same_file(root, host_root).value_or(true) });
    }
  }
  return out;
}

} // namespace tw
