#include "facts/tuned.hpp"

#include "sysctld/parser.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace tw {

namespace fs = std::filesystem;

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
    const std::string_view value = trim(line.substr(eq + 1));
    if (section == "main" && name == "include") {
      for (auto part : split(value, ',')) {
        for (const auto word : split_ws(part)) {
          if (word.find('$') == std::string_view::npos) { // ${variables} are resolved by TuneD only
            out.includes.emplace_back(word);
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
// shipped ones; newer TuneD keeps both under profiles/.
std::optional<fs::path> find_profile(const fs::path& root, const std::string& name)
{
  for (const char* dir : { "etc/tuned/profiles", "etc/tuned", "usr/lib/tuned/profiles", "usr/lib/tuned" }) {
    const fs::path file = root / dir / name / "tuned.conf";
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) {
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

// The profile's settings with its includes' under them (the including profile wins), at most
// 8 levels deep (a loop in includes ends there).
void collect(const fs::path& root, const std::string& name, int depth, std::map<std::string, Found>& into)
{
  if (depth > 8) {
    return;
  }
  const auto file = find_profile(root, name);
  if (!file) {
    return;
  }
  const auto text = read_file(*file);
  if (!text) {
    return;
  }
  const TunedProfile profile = parse_tuned_conf(*text);
  for (const auto& include : profile.includes) {
    collect(root, include, depth + 1, into);
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
    std::string v(trim(line.substr(eq + 1)));
    std::transform(
      v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    reapply = !(v == "0" || v == "false" || v == "no" || v == "off");
  }
  return reapply;
}

} // namespace

std::vector<TunerClaim> read_tuned_claims(const fs::path& root,
                                          const std::vector<std::string>& keys,
                                          bool daemon_running)
{
  const auto active = read_file(root / "etc/tuned/active_profile");
  if (!active) {
    return {};
  }
  const std::vector<std::string_view> names = split_ws(*active);
  if (names.empty()) {
    return {};
  }
  std::map<std::string, Found> settings;
  for (const auto name : names) { // several profiles: the later one wins
    collect(root, std::string(name), 0, settings);
  }
  const bool reapply = reapplies_sysctl(root);
  const std::set<std::string> wanted(keys.begin(), keys.end());
  std::vector<TunerClaim> out;
  for (const auto& [key, found] : settings) {
    if (wanted.count(key) == 0) {
      continue;
    }
    TunerClaim c;
    c.owner = "TuneD profile " + found.profile;
    c.key = key;
    c.value = found.value;
    c.source = found.source;
    c.running = daemon_running;
    c.overrides_sysctld = !reapply;
    c.effect = reapply
                 ? "TuneD sets it to " + found.value +
                     " at each start or profile switch, then re-applies /etc/sysctl.d (reapply_sysctl = 1), "
                     "so the value apply persists wins again"
                 : "TuneD sets it to " + found.value +
                     " at each start or profile switch and does not re-apply /etc/sysctl.d "
                     "(reapply_sysctl = 0): it undoes apply's change then";
    out.push_back(std::move(c));
  }
  return out;
}

bool process_running(const fs::path& proc, std::string_view comm)
{
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    if (const auto text = read_file(entry.path() / "comm"); text && trim(*text) == comm) {
      return true;
    }
  }
  return false;
}

} // namespace tw
