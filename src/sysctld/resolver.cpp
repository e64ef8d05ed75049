// Simulates the two boot-time loaders of sysctl.d. The rules, checked against their sources:
// systemd 252 src/sysctl/sysctl.c + src/basic/conf-files.c, procps-ng 4.0.2 src/sysctl.c.
//  - systemd: /etc, /run, /usr/local/lib, /usr/lib sysctl.d; `*.conf`, hidden (dot) files skipped;
//    a name seen in a higher directory masks lower ones (an empty file or a /dev/null link then
//    sets nothing); files sorted by basename (strcmp). Entries go into an ordered map keyed by the
//    key: a repeat with the SAME value keeps the earlier entry (and its place), a different value
//    (or a `-key` exclusion) removes the earlier one and appends. Globs are applied in map order to
//    every matching path for which the map has no entry of that exact key (explicit or excluded).
//    /etc/sysctl.conf is read only through a link such as Debian's /etc/sysctl.d/99-sysctl.conf.
//  - procps: the same directories plus /lib/sysctl.d, `*.conf` (hidden files included), first
//    name wins, sorted by name; then /etc/sysctl.conf when it is a regular file. Every entry is
//    written in order; a glob skips paths that any exact-key entry (anywhere in the list) sets,
//    and paths matched by any `-key` exclusion (fnmatch without FNM_PATHNAME).
#include "sysctld/resolver.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <deque>
#include <fnmatch.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace tw::sysctld {

namespace fs = std::filesystem;

namespace {

constexpr int k_max_symlink_hops = 40; // as the kernel's MAXSYMLINKS

// Resolves abs (absolute on the target) to the path it names on the target, following symlinks
// inside root (an absolute link target is taken relative to root, never to the host). Missing
// components are kept as they are. nullopt on a link loop.
std::optional<fs::path> resolve_in_root(const fs::path& root, const fs::path& abs)
{
  std::deque<std::string> todo;
  for (const auto& part : abs.relative_path()) {
    todo.push_back(part.string());
  }
  fs::path cur = "/";
  int hops = 0;
  while (!todo.empty()) {
    const std::string comp = todo.front();
    todo.pop_front();
    if (comp.empty() || comp == ".") {
      continue;
    }
    if (comp == "..") {
      cur = cur.has_relative_path() ? cur.parent_path() : cur;
      continue;
    }
    const fs::path next = cur / comp;
    const fs::path host = under_root(root, next);
    struct stat st
    {};
    if (::lstat(host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      cur = next;
      continue;
    }
    if (++hops > k_max_symlink_hops) {
      return std::nullopt;
    }
    std::error_code ec;
    const fs::path target = fs::read_symlink(host, ec);
    if (ec) {
      cur = next;
      continue;
    }
    std::deque<std::string> parts;
    for (const auto& part : target.relative_path()) {
      parts.push_back(part.string());
    }
    if (target.is_absolute()) {
      cur = "/";
    }
    todo.insert(todo.begin(), parts.begin(), parts.end());
  }
  return cur;
}

bool is_hidden(const std::string& name)
{
  return !name.empty() && name.front() == '.';
}

bool ends_with_conf(const std::string& name)
{
  return name.size() >= 5 && name.compare(name.size() - 5, 5, ".conf") == 0;
}

// The file names a loader accepts in a directory.
bool accepted_name(Loader loader, const std::string& name)
{
  if (!ends_with_conf(name)) {
    return false;
  }
  return loader == Loader::procps || !is_hidden(name);
}

const fs::path k_sysctl_conf = "/etc/sysctl.conf";

class TreeReader
{
public:
  TreeReader(const fs::path& root, const std::vector<ProposedFile>& proposed)
    : m_root(root)
  {
    for (const auto& p : proposed) {
      m_overlay[p.dest.lexically_normal()] = &p;
    }
  }

  const ProposedFile* overlay(const fs::path& path) const
  {
    const auto it = m_overlay.find(path.lexically_normal());
    return it == m_overlay.end() ? nullptr : it->second;
  }

  const std::map<fs::path, const ProposedFile*>& overlays() const { return m_overlay; }

  // Reads one file as the loader would: follows links inside root, /dev/null is empty.
  // A read error other than ENOENT (a dangling link: the loader sees nothing either) goes to unreadable.
  SourceFile read(const fs::path& path,
                  const std::string& name,
                  std::vector<UnreadablePath>& unreadable) const
  {
    SourceFile file;
    file.name = name;
    file.path = path;
    file.display = path.string();
    std::string content;
    if (const auto* p = overlay(path)) {
      file.proposed = true;
      file.display = p->display;
      content = p->content;
    } else {
      const auto target = resolve_in_root(m_root, path);
      if (!target) {
        file.unreadable = true;
        file.read_error = errno_text(ELOOP);
        unreadable.push_back({ path, ELOOP, file.read_error });
      } else if (*target == "/dev/null") {
        file.mask = true;
      } else if (const auto* q = overlay(*target)) {
        file.proposed = true;
        file.display = q->display;
        content = q->content; // e.g. 99-sysctl.conf -> ../sysctl.conf, with sysctl.conf proposed
      } else {
        auto result = read_file(under_root(m_root, *target));
        if (result) {
          content = std::move(*result);
        } else {
          file.unreadable = true;
          file.read_error = errno_text(result.error());
          if (result.error() != ENOENT) {
            unreadable.push_back({ path, result.error(), file.read_error });
          }
        }
      }
    }
    if (!file.unreadable && content.empty()) {
      file.mask = true;
    }
    file.parsed = parse_sysctl_conf(content, file.display);
    return file;
  }

  // Names in one directory (after following links inside root), with the overlay laid over them.
  // A directory that exists but cannot be listed (not ENOENT/ENOTDIR) goes to unreadable.
  std::vector<std::string> list(const fs::path& dir,
                                Loader loader,
                                fs::path& resolved,
                                std::vector<UnreadablePath>& unreadable) const
  {
    std::set<std::string> names;
    const auto target = resolve_in_root(m_root, dir);
    resolved = target.value_or(dir);
    if (!target) {
      unreadable.push_back({ dir, ELOOP, errno_text(ELOOP) });
    } else {
      std::error_code ec;
      fs::directory_iterator it(under_root(m_root, *target), ec);
      for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (accepted_name(loader, name)) {
          names.insert(name);
        }
      }
      if (ec && ec.value() != ENOENT && ec.value() != ENOTDIR) {
        unreadable.push_back({ dir, ec.value(), errno_text(ec.value()) });
      }
    }
    for (const auto& [path, proposed] : m_overlay) {
      const auto name = path.filename().string();
      if (path.parent_path() == dir.lexically_normal() && accepted_name(loader, name)) {
        names.insert(name);
      }
    }
    return { names.begin(), names.end() };
  }

  // Whether procps would read /etc/sysctl.conf (stat() says it is a regular file); a stat error
  // other than ENOENT/ENOTDIR goes to unreadable.
  bool sysctl_conf_is_regular(std::vector<UnreadablePath>& unreadable) const
  {
    if (overlay(k_sysctl_conf) != nullptr) {
      return true;
    }
    const auto target = resolve_in_root(m_root, k_sysctl_conf);
    if (!target) {
      return false;
    }
    if (overlay(*target) != nullptr) {
      return true;
    }
    struct stat st
    {};
    if (::stat(under_root(m_root, *target).c_str(), &st) != 0) {
      const int err = errno;
      if (err != ENOENT && err != ENOTDIR) {
        unreadable.push_back({ k_sysctl_conf, err, errno_text(err) });
      }
      return false;
    }
    return S_ISREG(st.st_mode);
  }

private:
  fs::path m_root;
  std::map<fs::path, const ProposedFile*> m_overlay;
};

std::string at_line(const Entry& e)
{
  return e.file + ":" + std::to_string(e.line);
}

bool same_value(const std::optional<std::string>& a, const std::optional<std::string>& b)
{
  return a == b; // systemd's streq_ptr(): both exclusions, or identical text
}

// procps matches exclusions with fnmatch(3) on the whole /proc/sys path, without FNM_PATHNAME.
bool procps_excludes(const Entry& exclusion, const std::string& key)
{
  const auto pattern = "/proc/sys/" + key_to_path(exclusion.key);
  const auto path = "/proc/sys/" + key_to_path(key);
  return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

} // namespace

const char* to_string(Loader loader)
{
  return loader == Loader::systemd ? "systemd-sysctl" : "sysctl --system";
}

const std::vector<fs::path>& config_dirs(Loader loader)
{
  static const std::vector<fs::path> k_systemd = {
    "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d"
  };
  static const std::vector<fs::path> k_procps = {
    "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"
  };
  return loader == Loader::systemd ? k_systemd : k_procps;
}

Loader boot_loader(const fs::path& root)
{
  for (const char* path : { "/usr/lib/systemd/systemd-sysctl", "/lib/systemd/systemd-sysctl" }) {
    std::error_code ec;
    if (fs::exists(under_root(root, path), ec)) {
      return Loader::systemd;
    }
  }
  return Loader::procps;
}

BootResolution resolve(const fs::path& root, Loader loader, const std::vector<ProposedFile>& proposed)
{
  BootResolution res;
  res.loader = loader;
  res.root = root;
  const TreeReader tree(root, proposed);

  std::map<std::string, fs::path> chosen; // name -> path of the file that is read
  std::set<fs::path> seen_dirs;
  for (const auto& dir : config_dirs(loader)) {
    fs::path resolved;
    const auto names = tree.list(dir, loader, resolved, res.unreadable);
    if (!seen_dirs.insert(resolved).second) {
      continue; // /lib -> usr/lib: the same directory again, every name already taken
    }
    for (const auto& name : names) {
      const auto path = dir / name;
      const auto it = chosen.find(name);
      if (it == chosen.end()) {
        chosen.emplace(name, path);
        continue;
      }
      ShadowedFile shadow;
      shadow.path = path;
      shadow.shadowed_by = it->second;
      res.shadowed.push_back(shadow);
    }
  }
  for (const auto& [name, path] : chosen) { // std::map: sorted by name, byte order as strcmp
    res.files.push_back(tree.read(path, name, res.unreadable));
  }
  if (loader == Loader::procps && tree.sysctl_conf_is_regular(res.unreadable)) {
    res.files.push_back(tree.read(k_sysctl_conf, "sysctl.conf", res.unreadable));
  }
  for (auto& shadow : res.shadowed) {
    for (const auto& file : res.files) {
      if (file.path == shadow.shadowed_by) {
        shadow.shadowed_by_display = file.display;
        shadow.by_mask = file.mask;
      }
    }
  }

  for (const auto& file : res.files) {
    if (file.unreadable) {
      res.problems.push_back(Problem{ "unreadable-file",
                                      Severity::warning,
                                      file.display,
                                      0,
                                      {},
                                      file.display + ": cannot read it (" + file.read_error +
                                        "); the loader skips it, and so does this prediction" });
    }
    res.problems.insert(res.problems.end(), file.parsed.problems.begin(), file.parsed.problems.end());
  }

  if (loader == Loader::procps) {
    for (const auto& file : res.files) {
      res.applied.insert(res.applied.end(), file.parsed.entries.begin(), file.parsed.entries.end());
    }
    return res;
  }
  // systemd: an ordered map keyed by the canonical key.
  std::vector<std::optional<Entry>> order;
  std::map<std::string, std::size_t> index;
  for (const auto& file : res.files) {
    for (const auto& entry : file.parsed.entries) {
      const auto it = index.find(entry.key);
      if (it != index.end()) {
        auto& existing = order[it->second];
        if (same_value(existing->value, entry.value)) {
          existing->ignore_failure = existing->ignore_failure || entry.ignore_failure;
          continue;
        }
        existing.reset();
      }
      index[entry.key] = order.size();
      order.emplace_back(entry);
    }
  }
  for (auto& entry : order) {
    if (entry) {
      res.applied.push_back(std::move(*entry));
    }
  }
  return res;
}

KeyOutcome BootResolution::outcome(const std::string& key) const
{
  KeyOutcome out;
  for (const auto& file : files) {
    for (const auto& entry : file.parsed.entries) {
      if (entry.value && (entry.glob ? glob_matches(entry.key, key) : entry.key == key)) {
        out.assignments.push_back(entry);
      }
    }
  }
  // Explicit (exact-key) entries beat globs in both loaders.
  const Entry* explicit_entry = nullptr;
  for (const auto& entry : applied) {
    if (!entry.glob && entry.key == key) {
      explicit_entry = &entry; // systemd has at most one; procps writes them all, the last wins
    }
  }
  if (explicit_entry != nullptr) {
    if (explicit_entry->value) {
      out.winner = *explicit_entry;
      return out;
    }
    if (loader == Loader::systemd) {
      out.excluded = true; // a later `-key` removed every earlier assignment
      return out;
    }
  }
  if (loader == Loader::procps) {
    // procps: an exact assignment anywhere wins; otherwise exclusions keep globs off the path.
    for (const auto& entry : applied) {
      if (!entry.glob && entry.value && entry.key == key) {
        out.winner = entry;
      }
    }
    if (out.winner) {
      return out;
    }
    for (const auto& entry : applied) {
      if (entry.is_exclusion() && procps_excludes(entry, key)) {
        out.excluded = true;
        return out;
      }
    }
  }
  for (const auto& entry : applied) {
    if (entry.glob && entry.value && glob_matches(entry.key, key)) {
      out.winner = entry;
    }
  }
  return out;
}

std::optional<std::string> BootResolution::boot_value(const std::string& key) const
{
  const auto o = outcome(key);
  return o.winner ? o.winner->value : std::nullopt;
}

std::vector<std::string> BootResolution::explicit_keys() const
{
  std::set<std::string> keys;
  for (const auto& entry : applied) {
    if (!entry.glob && entry.value) {
      keys.insert(entry.key);
    }
  }
  return { keys.begin(), keys.end() };
}

std::vector<Entry> BootResolution::globs() const
{
  std::vector<Entry> out;
  for (const auto& entry : applied) {
    if (entry.glob && entry.value) {
      out.push_back(entry);
    }
  }
  return out;
}

std::vector<Placement> check_placement(const fs::path& root,
                                       Loader loader,
                                       const fs::path& dest,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& values)
{
  if (keys.size() != values.size()) {
    throw Error("check_placement", "keys and values differ in length");
  }
  std::string content = "# probe\n";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    content += keys[i] + " = " + values[i] + "\n";
  }
  const ProposedFile probe{ dest, dest.string(), content };
  const auto res = resolve(root, loader, { probe });
  std::vector<Placement> out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Placement p;
    p.unreadable = res.unreadable;
    const auto canonical = normalize_key(keys[i]).key.value_or(keys[i]);
    p.key = canonical;
    const auto o = res.outcome(canonical);
    const bool read =
      std::any_of(res.files.begin(), res.files.end(), [&](const SourceFile& f) { return f.proposed; });
    if (o.winner && o.winner->file == probe.display) {
      p.wins = true;
    } else if (!read) {
      p.reason = dest.string() + " would not be read by " + std::string(to_string(loader));
      for (const auto& s : res.shadowed) {
        if (s.path == dest.lexically_normal()) {
          p.reason += ": " + s.shadowed_by.string() + " has the same name in a higher-priority directory";
        }
      }
    } else if (o.winner) {
      p.winner = o.winner;
      p.reason = at_line(*o.winner);
      p.reason.append(" sets ").append(canonical).append(" = ").append(o.winner->value.value_or(""));
      p.reason.append(" and is applied later by ").append(to_string(loader));
    } else {
      p.reason = canonical;
      p.reason.append(" is excluded by a `-")
        .append(canonical)
        .append("` line under ")
        .append(to_string(loader));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<LoaderDrift> boot_drift(const Sysctls& runtime, const std::vector<BootResolution>& resolutions)
{
  std::vector<LoaderDrift> out;
  for (const auto& [key, value] : runtime.values) {
    if (value.status != ReadStatus::ok) {
      continue;
    }
    const auto canonical = normalize_key(key).key;
    if (!canonical) {
      continue;
    }
    LoaderDrift d;
    d.key = key;
    d.runtime = value.value;
    bool drifts = false;
    for (const auto& res : resolutions) {
      LoaderBoot b;
      b.loader = res.loader;
      const auto o = res.outcome(*canonical);
      if (o.winner && o.winner->value) {
        b.boot = normalize_space(*o.winner->value);
        b.source = o.winner;
        drifts = drifts || !same_sysctl_value(value.value, *o.winner->value);
      }
      d.boots.push_back(std::move(b));
    }
    if (!drifts) {
      continue;
    }
    const auto says = [](const LoaderBoot& b) {
      return b.boot ? at_line(*b.source) + " sets " + *b.boot : std::string("no file sets it");
    };
    const LoaderBoot& first = d.boots.front();
    const bool same_line = std::all_of(d.boots.begin(), d.boots.end(), [&](const LoaderBoot& b) {
      return b.boot && first.boot && b.source->file == first.source->file &&
             b.source->line == first.source->line;
    });
    const bool same_value = std::all_of(d.boots.begin(), d.boots.end(), [&](const LoaderBoot& b) {
      return b.boot && first.boot && same_sysctl_value(*b.boot, *first.boot);
    });
    d.message = key + " is " + value.value + " now but ";
    if (same_line) {
      d.message += says(first) + " at boot";
      d.message +=
        d.boots.size() == 2 ? " under both loaders" : " (" + std::string(to_string(first.loader)) + ")";
    } else if (same_value) {
      // The same value from different files: the loaders agree on what, not on where.
      std::string where;
      for (const auto& b : d.boots) {
        where += (where.empty() ? "" : "; ") + std::string(to_string(b.loader)) + ": " + at_line(*b.source);
      }
      d.message += "both loaders set " + *first.boot + " at boot (" + where + ")";
    } else {
      std::string parts;
      for (const auto& b : d.boots) {
        parts += (parts.empty() ? "" : "; ") + std::string(to_string(b.loader)) + ": " + says(b);
      }
      d.message += "the loaders differ at boot: " + parts;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::map<std::string, std::string> overrides_at_boot(
  const std::filesystem::path& root,
  const std::filesystem::path& dest,
  const std::vector<std::pair<std::string, std::string>>& settings)
{
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (const auto& [k, v] : settings) {
    keys.push_back(k);
    values.push_back(v);
  }
  const std::string name = dest.filename().string();
  std::map<std::string, std::string> out;
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    for (const auto& placement : check_placement(root, loader, dest, keys, values)) {
      if (placement.wins || out.count(placement.key) != 0) {
        continue;
      }
      if (placement.winner) {
        out[placement.key] = placement.winner->file + ":" + std::to_string(placement.winner->line) +
                             " sets " + placement.key + " = " + placement.winner->value.value_or("") +
                             ", and " + to_string(loader) + " reads that file after " + name;
      } else {
        out[placement.key] =
          placement.key + ": " +
          (placement.reason.empty() ? std::string("another file wins") : placement.reason) + " (" +
          to_string(loader) + ")";
      }
    }
  }
  return out;
}

} // namespace tw::sysctld
