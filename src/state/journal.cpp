#include "state/journal.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_strict.hpp"
#include "util/json_text.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace {

constexpr std::array<const char*, 7> k_state_names = {
  "prepared", "runtime-applied", "watching", "persisting", "done", "rolling-back", "rolled-back",
};

constexpr const char* k_b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

nlohmann::json content_to_json(const FileContent& content)
{
  return { { "mode", content.mode },
           { "sha256", sha256_hex(content.bytes) },
           { "content_base64", base64_encode(content.bytes) } };
}

FileContent content_from_json(const nlohmann::json& json, const std::string& source)
{
  FileContent out;
  out.mode = json.at("mode").get<mode_t>();
  const auto bytes = base64_decode(json.at("content_base64").get<std::string>());
  if (!bytes) {
    throw Error(source, "content_base64 is not valid base64");
  }
  if (sha256_hex(*bytes) != json.at("sha256").get<std::string>()) {
    throw Error(source, "a file's content does not match its sha256; the journal is damaged");
  }
  out.bytes = *bytes;
  return out;
}

} // namespace

const char* to_string(JournalState state)
{
  return k_state_names.at(static_cast<std::size_t>(state));
}

std::optional<JournalState> journal_state_from(const std::string& text)
{
  for (std::size_t i = 0; i < k_state_names.size(); ++i) {
    if (text == k_state_names[i]) {
      return static_cast<JournalState>(i);
    }
  }
  return std::nullopt;
}

bool is_final(JournalState state)
{
  return state == JournalState::done || state == JournalState::rolled_back;
}

std::string utc_now()
{
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string base64_encode(std::string_view bytes)
{
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += k_b64[n >> 18 & 63];
    out += k_b64[n >> 12 & 63];
    out += k_b64[n >> 6 & 63];
    out += k_b64[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) {
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    }
    out += k_b64[n >> 18 & 63];
    out += k_b64[n >> 12 & 63];
    out += rest == 2 ? k_b64[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    if (c == '+') {
      return 62;
    }
    if (c == '/') {
      return 63;
    }
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0) : 0;
    std::uint32_t n = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int v = 0;
      if (j >= 4 - static_cast<std::size_t>(pad)) {
        v = 0;
      } else {
        v = value(text[i + j]);
        if (v < 0) {
          return std::nullopt;
        }
      }
      n = n << 6 | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>(n >> 16 & 0xff);
    if (pad < 2) {
      out += static_cast<char>(n >> 8 & 0xff);
    }
    if (pad < 1) {
      out += static_cast<char>(n & 0xff);
    }
  }
  return out;
}

nlohmann::json journal_to_json(const Journal& journal)
{
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : journal.changes) {
    changes.push_back({ { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } });
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : journal.files) {
    files.push_back({ { "dir", f.dir },
                      { "name", f.name },
                      { "temp_name", f.temp_name },
                      { "before", f.before ? content_to_json(*f.before) : nlohmann::json(nullptr) },
                      { "after", content_to_json(f.after) } });
  }
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : journal.history) {
    history.push_back({ { "state", e.state }, { "at", e.at }, { "note", e.note } });
  }
  nlohmann::json canary = nullptr;
  if (journal.canary) {
    canary = { { "host_id", journal.canary->host_id },
               { "percent", journal.canary->percent },
               { "bucket", journal.canary->bucket } };
  }
  return { { "format_version", k_journal_format_version },
           { "kind", "tw-advisor-journal" },
           { "id", journal.id },
           { "tool_version", journal.tool_version },
           { "command", journal.command },
           { "created_at", journal.created_at },
           { "updated_at", journal.updated_at },
           { "state", to_string(journal.state) },
           { "root", journal.root },
           { "proc_sys", journal.proc_sys },
           { "netns_inode", journal.netns_inode },
           { "plan", { { "source", journal.plan_source }, { "sha256", journal.plan_sha256 } } },
           { "canary", canary },
           { "watch_seconds", journal.watch_seconds },
           { "persist", journal.persist },
           { "changes", changes },
           { "files", files },
           { "reason", journal.reason },
           { "history", history } };
}

Journal journal_from_json(const nlohmann::json& json, const std::string& source)
{
  if (!json.is_object() || !json.contains("format_version") || !json["format_version"].is_number_integer()) {
    throw Error(source, "not a tw-advisor journal (no integer format_version)");
  }
  const int version = json["format_version"].get<int>();
  if (version != k_journal_format_version) {
    throw Error(source,
                "journal format_version " + std::to_string(version) +
                  " is not the one this tw-advisor reads (" + std::to_string(k_journal_format_version) +
                  "); use the tw-advisor version that wrote it (" +
                  json.value("tool_version", std::string("unknown")) + ")");
  }
  try {
    if (json.at("kind").get<std::string>() != "tw-advisor-journal") {
      throw Error(source, "kind is not tw-advisor-journal");
    }
    Journal j;
    j.id = json.at("id").get<std::string>();
    j.tool_version = json.at("tool_version").get<std::string>();
    j.command = json.at("command").get<std::string>();
    j.created_at = json.at("created_at").get<std::string>();
    j.updated_at = json.at("updated_at").get<std::string>();
    const auto state_text = json.at("state").get<std::string>();
    const auto state = journal_state_from(state_text);
    if (!state) {
      throw Error(source, "unknown state \"" + state_text + "\"");
    }
    j.state = *state;
    j.root = json.at("root").get<std::string>();
    j.proc_sys = json.at("proc_sys").get<std::string>();
    j.netns_inode = json.at("netns_inode").get<std::uint64_t>();
    j.plan_source = json.at("plan").at("source").get<std::string>();
    j.plan_sha256 = json.at("plan").at("sha256").get<std::string>();
    if (!json.at("canary").is_null()) {
      const auto& c = json.at("canary");
      j.canary = JournalCanary{ c.at("host_id").get<std::string>(),
                                c.at("percent").get<double>(),
                                c.at("bucket").get<std::uint32_t>() };
    }
    j.watch_seconds = json.at("watch_seconds").get<std::int64_t>();
    j.persist = json.at("persist").get<bool>();
    for (const auto& c : json.at("changes")) {
      j.changes.push_back(
        { c.at("key").get<std::string>(), c.at("old").get<std::string>(), c.at("new").get<std::string>() });
    }
    for (const auto& f : json.at("files")) {
      JournalFile file;
      file.dir = f.at("dir").get<std::string>();
      file.name = f.at("name").get<std::string>();
      file.temp_name = f.at("temp_name").get<std::string>();
      if (!f.at("before").is_null()) {
        file.before = content_from_json(f.at("before"), source);
      }
      file.after = content_from_json(f.at("after"), source);
      j.files.push_back(std::move(file));
    }
    j.reason = json.at("reason").get<std::string>();
    for (const auto& e : json.at("history")) {
      j.history.push_back(
        { e.at("state").get<std::string>(), e.at("at").get<std::string>(), e.at("note").get<std::string>() });
    }
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, std::string("malformed journal: ") + e.what());
  }
}

namespace {

// The complete elements of the array that follows "name": in text (which may be cut short), each
// parsed on its own; an element cut by the end of text is left out.
std::vector<nlohmann::json> complete_elements(std::string_view text, std::string_view name)
{
  std::vector<nlohmann::json> out;
  const auto at = text.find("\"" + std::string(name) + "\"");
  if (at == std::string_view::npos) {
    return out;
  }
  auto pos = text.find('[', at);
  if (pos == std::string_view::npos) {
    return out;
  }
  int depth = 0;
  bool in_string = false;
  std::size_t start = 0;
  for (++pos; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (in_string) {
      if (c == '\\') {
        ++pos;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 0) {
        start = pos;
      }
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        break; // the end of the array
      }
      if (--depth == 0) {
        auto element = nlohmann::json::parse(text.substr(start, pos - start + 1), nullptr, false);
        if (!element.is_discarded()) {
          out.push_back(std::move(element));
        }
      }
    }
  }
  return out;
}

std::string string_member(const nlohmann::json& object, const char* name)
{
  if (object.is_object() && object.contains(name) && object[name].is_string()) {
    return object[name].get<std::string>();
  }
  return {};
}

} // namespace

JournalSalvage salvage_journal(std::string_view bytes)
{
  JournalSalvage out;
  std::vector<nlohmann::json> changes;
  std::vector<nlohmann::json> files;
  const auto whole = nlohmann::json::parse(bytes, nullptr, false);
  if (whole.is_object()) {
    for (const char* name : { "changes", "files" }) {
      if (whole.contains(name) && whole[name].is_array()) {
        auto& into = std::string(name) == "changes" ? changes : files;
        into.assign(whole[name].begin(), whole[name].end());
      }
    }
  } else {
    out.truncated = true;
    changes = complete_elements(bytes, "changes");
    files = complete_elements(bytes, "files");
  }
  for (const auto& c : changes) {
    const auto key = string_member(c, "key");
    const bool has_old = c.is_object() && c.contains("old") && c["old"].is_string();
    if (!key.empty() && has_old) {
      out.changes.push_back({ key, c["old"].get<std::string>(), string_member(c, "new") });
    }
  }
  for (const auto& f : files) {
    SalvagedFile file;
    file.dir = string_member(f, "dir");
    file.name = string_member(f, "name");
    if (file.dir.empty() || file.name.empty() || !f.contains("before")) {
      continue;
    }
    if (f["before"].is_null()) {
      file.state = SalvagedFile::State::absent_before;
    } else {
      try {
        file.before = content_from_json(f["before"], "journal");
        file.state = SalvagedFile::State::known;
      } catch (const std::exception&) {
        file.state = SalvagedFile::State::unknown; // a bad checksum or encoding: not to be trusted
      }
    }
    out.files.push_back(std::move(file));
  }
  return out;
}

void save_journal(const Dir& state_dir, const Journal& journal)
{
  std::string text;
  try {
    text = json_text(journal_to_json(journal)) + "\n";
  } catch (const nlohmann::json::exception& e) {
    throw Error(state_dir.name_path(k_journal_name), std::string("cannot encode the journal: ") + e.what());
  }
  write_file_atomically(state_dir, k_journal_name, std::string(k_journal_name) + ".tmp", text, 0600);
  if (is_final(journal.state)) {
    try {
      archive_journal(state_dir, journal);
    } catch (const std::exception& e) { // the apply itself is journaled; only status --history misses it
      spdlog::warn("the journal's copy for status --history: {}", e.what());
    }
  }
}

namespace {

// The archive's file names (ID.json), oldest first: ids are "UTC time-pid", so by the time, then
// by the pid as a number (two applies in one second).
std::vector<std::string> archive_names(int dir_fd)
{
  std::vector<std::string> names;
  const int fd = ::dup(dir_fd);
  if (fd < 0) {
    return names;
  }
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return names;
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() > 5 && n.front() != '.' && n.compare(n.size() - 5, 5, ".json") == 0) {
      names.push_back(n);
    }
  }
  ::closedir(d);
  const auto key = [](const std::string& n) {
    const std::string id = n.substr(0, n.size() - 5);
    const std::size_t dash = id.rfind('-');
    const auto pid = dash == std::string::npos ? std::nullopt : parse_uint(id.substr(dash + 1));
    return std::pair(id.substr(0, dash), pid.value_or(0));
  };
  std::sort(names.begin(), names.end(), [&key](const std::string& a, const std::string& b) {
    return key(a) < key(b);
  });
  return names;
}

// The archive directory in the state dir, opened through the state dir's fd without following a
// symlink, made 0700 when missing, refused when it is not ours or others may write it.
std::optional<Dir> open_archive(const Dir& state_dir, bool create)
{
  if (create && ::mkdirat(state_dir.fd(), k_journal_archive_dir, 0700) != 0 && errno != EEXIST) {
    throw Error(state_dir.name_path(k_journal_archive_dir), std::string("mkdir: ") + errno_text(errno));
  }
  const int fd =
    ::openat(state_dir.fd(), k_journal_archive_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !create) {
      return std::nullopt;
    }
    throw Error(state_dir.name_path(k_journal_archive_dir), std::string("open: ") + errno_text(errno));
  }
  Dir dir(fd, state_dir.path() / k_journal_archive_dir);
  struct stat st
  {};
  if (::fstat(dir.fd(), &st) != 0) {
    throw Error(dir.path().string(), std::string("stat: ") + errno_text(errno));
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    throw Error(dir.path().string(), "refused: not owned by this user, or writable by group or others");
  }
  return dir;
}

} // namespace

void archive_journal(const Dir& state_dir, const Journal& journal)
{
  const Dir archive = *open_archive(state_dir, true);
  const std::string name = journal.id + ".json";
  write_file_atomically(archive, name, "." + name + ".tmp", json_text(journal_to_json(journal)) + "\n", 0600);
  const std::vector<std::string> names = archive_names(archive.fd());
  for (std::size_t i = 0; i + k_journals_kept < names.size(); ++i) {
    remove_file_durably(archive, names[i]);
  }
}

JournalArchive load_journal_archive(const std::filesystem::path& state_dir)
{
  JournalArchive out;
  try {
    std::error_code ec;
    if (!std::filesystem::is_directory(state_dir, ec)) {
      return out; // nothing was ever applied here
    }
    const Dir dir = Dir::open(state_dir);
    const std::optional<Dir> archive = open_archive(dir, false);
    if (!archive) {
      return out; // no apply has finished here yet (or not since the archive exists)
    }
    std::vector<std::string> names = archive_names(archive->fd());
    std::reverse(names.begin(), names.end()); // newest first
    for (const auto& n : names) {
      if (out.journals.size() == k_journals_kept) {
        break; // a prune that failed left more: the newest are the ones kept
      }
      try {
        const auto file = read_file_at(*archive, n);
        if (file) {
          const std::string source = archive->name_path(n);
          out.journals.push_back(journal_from_json(parse_json_strict(file->bytes, source), source));
        }
      } catch (const Error& e) {
        out.problems.push_back(e.what());
      }
    }
  } catch (const Error& e) {
    out.problems.push_back(e.what());
  }
  return out;
}

std::optional<Journal> load_journal(const Dir& state_dir)
{
  const auto file = read_file_at(state_dir, k_journal_name);
  if (!file) {
    return std::nullopt;
  }
  const auto source = state_dir.name_path(k_journal_name);
  return journal_from_json(parse_json_strict(file->bytes, source), source);
}

void advance_journal(const Dir& state_dir, Journal& journal, JournalState state, const std::string& note)
{
  journal.state = state;
  journal.updated_at = utc_now();
  journal.history.push_back({ to_string(state), journal.updated_at, note });
  save_journal(state_dir, journal);
}

std::filesystem::path resolve_state_dir(const std::filesystem::path& root,
                                        const std::filesystem::path& state_dir)
{
  return state_dir.empty() ? under_root(root, k_default_state_dir) : state_dir;
}

std::optional<InterruptedApply> find_interrupted_apply(const std::filesystem::path& root,
                                                       const std::filesystem::path& state_dir)
{
  const auto path = resolve_state_dir(root, state_dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) {
    return std::nullopt;
  }
  try {
    const Dir dir = Dir::open(path);
    const auto journal = load_journal(dir);
    if (!journal || is_final(journal->state) || state_lock_held(dir)) {
      return std::nullopt;
    }
    return InterruptedApply{ journal->id, to_string(journal->state), dir.name_path(k_journal_name) };
  } catch (const Error&) {
    return std::nullopt; // unreadable: plan is not the place to diagnose the state dir
  }
}

} // namespace tw
