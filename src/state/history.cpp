#include "state/history.hpp"

#include "util/clock.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/socket.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace tw {

namespace {

constexpr int k_history_version = 1;

double time_wait_share(const DestGroup& g)
{
  return g.usable > 0 ? static_cast<double>(g.time_wait) / static_cast<double>(g.usable) : 0.0;
}

nlohmann::json group_json(const DestGroup& g)
{
  return { { "family", g.family == AF_INET6 ? "ipv6" : "ipv4" },
           { "local", g.local },
           { "remote", g.remote },
           { "port", g.remote_port },
           { "in_use", g.in_use },
           { "time_wait", g.time_wait },
           { "usable", g.usable },
           { "loopback", g.loopback } };
}

DestGroup group_from_json(const nlohmann::json& j)
{
  DestGroup g;
  const std::string family = j.at("family").get<std::string>();
  if (family != "ipv4" && family != "ipv6") {
    throw nlohmann::json::other_error::create(501, "family", &j);
  }
  g.family = family == "ipv6" ? AF_INET6 : AF_INET;
  g.local = j.at("local").get<std::string>();
  g.remote = j.at("remote").get<std::string>();
  g.remote_port = j.at("port").get<std::uint16_t>();
  g.in_use = j.at("in_use").get<std::uint64_t>();
  g.time_wait = j.at("time_wait").get<std::uint64_t>();
  g.usable = j.at("usable").get<std::uint64_t>();
  g.loopback = j.at("loopback").get<bool>();
  g.pressure =
    g.usable > 0 ? std::min(1.0, static_cast<double>(g.in_use) / static_cast<double>(g.usable)) : 0.0;
  return g;
}

// The file's lines that are records, in file order, with how many were not.
std::pair<std::vector<HistoryRecord>, std::uint64_t> parse_all(const std::string& text)
{
  std::vector<HistoryRecord> records;
  std::uint64_t skipped = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      ++skipped; // the torn tail of an interrupted append
      break;
    }
    const std::string_view line(text.data() + at, end - at);
    if (!line.empty()) {
      if (auto r = parse_history_line(line)) {
        records.push_back(std::move(*r));
      } else {
        ++skipped;
      }
    }
    at = end + 1;
  }
  return { std::move(records), skipped };
}

} // namespace

namespace {

// The history's lock: one monitor writes a state dir's history.
FileLock history_lock(const Dir& dir)
{
  try {
    return FileLock(dir, k_history_lock, "tw-advisor monitor", "history", true);
  } catch (const LockHeld&) {
    throw Error(dir.path().string(),
                "another tw-advisor monitor keeps its history here (" +
                  lock_holder(dir, k_history_lock).value_or("holder not recorded yet") +
                  "); give this one another --state-dir, or --history 0");
  }
}

} // namespace

std::string history_line(const HistoryRecord& record)
{
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : record.groups) {
    groups.push_back(group_json(g));
  }
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& f : record.failures) {
    failures.push_back({ { "destination", f.destination },
                         { "eaddrnotavail", f.eaddrnotavail },
                         { "recycled_failed", f.recycled_failed } });
  }
  const nlohmann::json j = { { "v", k_history_version },
                             { "at", record.at_unix },
                             { "netns_inode", record.netns_inode },
                             { "groups", std::move(groups) },
                             { "failures", std::move(failures) } };
  return j.dump();
}

std::optional<HistoryRecord> parse_history_line(std::string_view line)
{
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  try {
    if (j.at("v").get<int>() != k_history_version) {
      return std::nullopt;
    }
    HistoryRecord r;
    r.at_unix = j.at("at").get<double>();
    r.netns_inode = j.at("netns_inode").get<std::uint64_t>();
    for (const auto& g : j.at("groups")) {
      r.groups.push_back(group_from_json(g));
    }
    for (const auto& f : j.at("failures")) {
      r.failures.push_back({ f.at("destination").get<std::string>(),
                             f.at("eaddrnotavail").get<std::uint64_t>(),
                             f.at("recycled_failed").get<std::uint64_t>() });
    }
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

HistoryWriter::HistoryWriter(const std::filesystem::path& state_dir, std::chrono::seconds keep)
  : m_dir(open_state_dir(state_dir, false))
  , m_lock(history_lock(m_dir))
  , m_keep(keep)
{
  const std::optional<FileContent> old = read_file_at(m_dir, k_history_file);
  if (old) {
    const auto [records, skipped] = parse_all(old->bytes);
    for (const auto& r : records) {
      m_oldest = m_oldest ? std::min(*m_oldest, r.at_unix) : r.at_unix;
    }
  }
}

std::filesystem::path HistoryWriter::path() const
{
  return m_dir.path() / k_history_file;
}

void HistoryWriter::append(const HistoryRecord& record)
{
  // O_APPEND and one write(2) per line: a concurrent reader sees whole lines or a torn tail. Read
  // and write: the last byte is read to close off a torn line.
  const int fd =
    ::openat(m_dir.fd(), k_history_file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    throw Error(path().string(), errno_text(errno));
  }
  const UniqueFd file(fd);
  struct stat st
  {};
  if (::fstat(fd, &st) != 0) {
    throw Error(path().string(), errno_text(errno));
  }
  std::string text;
  char last = '\n';
  if (st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
    text = "\n"; // a line torn by a crash mid-append is closed off: this record starts its own
  }
  text += history_line(record) + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(path().string(), errno_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    throw Error(path().string(), errno_text(errno));
  }
  if (!m_oldest) {
    m_oldest = record.at_unix;
  }
  const double now = std::max(record.at_unix, unix_now());
  const double keep = static_cast<double>(m_keep.count());
  if (*m_oldest < now - keep * 1.25) {
    compact(now);
  }
}

void HistoryWriter::compact(double now_unix)
{
  const std::optional<FileContent> old = read_file_at(m_dir, k_history_file);
  if (!old) {
    m_oldest.reset();
    return;
  }
  const double from = now_unix - static_cast<double>(m_keep.count());
  std::string kept;
  m_oldest.reset();
  for (const auto& r : parse_all(old->bytes).first) {
    if (r.at_unix >= from) {
      kept += history_line(r) + "\n";
      m_oldest = m_oldest ? std::min(*m_oldest, r.at_unix) : r.at_unix;
    }
  }
  // One writer (the lock), so one fixed temp name: a kill mid-compaction leaves one, which the
  // next compaction replaces.
  write_file_atomically(m_dir, k_history_file, std::string(".") + k_history_file + ".tmp", kept, 0600);
}

HistoryWindow read_history(const std::filesystem::path& path,
                           double since_seconds,
                           double now_unix,
                           std::uint64_t netns_inode)
{
  HistoryWindow w;
  w.path = path.string();
  w.since_seconds = since_seconds;
  w.read_at_unix = now_unix;
  std::string text;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    w.error = ec ? path.string() + ": " + ec.message() + " (run as root, as the monitor does)"
                 : "no history at " + path.string() + " (tw-advisor monitor records it)";
    return w;
  }
  try {
    const Dir dir = Dir::open(path.parent_path());
    const std::optional<FileContent> content = read_file_at(dir, path.filename().string());
    if (!content) {
      w.error = "no history at " + path.string() + " (tw-advisor monitor records it)";
      return w;
    }
    text = content->bytes;
  } catch (const Error& e) {
    w.error = e.what();
    return w;
  }
  w.available = true;
  auto [records, skipped] = parse_all(text);
  w.skipped = skipped;
  using Key = std::tuple<int, std::string, std::string, std::uint16_t>;
  std::map<Key, HistoryPeak> peaks;
  std::map<std::string, HistoryFailures> failures;
  const double from = now_unix - since_seconds;
  for (const auto& r : records) {
    if (r.netns_inode != netns_inode || r.at_unix < from || r.at_unix > now_unix + 1.0) {
      continue;
    }
    ++w.records;
    w.first_at_unix = w.first_at_unix ? std::min(*w.first_at_unix, r.at_unix) : r.at_unix;
    w.last_at_unix = w.last_at_unix ? std::max(*w.last_at_unix, r.at_unix) : r.at_unix;
    for (const auto& g : r.groups) {
      const Key key{ g.family, g.local, g.remote, g.remote_port };
      auto [it, fresh] = peaks.try_emplace(key, HistoryPeak{ g, r.at_unix });
      const auto worse = std::pair(time_wait_share(g), g.in_use);
      if (!fresh && worse > std::pair(time_wait_share(it->second.group), it->second.group.in_use)) {
        it->second = HistoryPeak{ g, r.at_unix };
      }
    }
    for (const auto& f : r.failures) {
      auto& sum = failures[f.destination];
      sum.destination = f.destination;
      sum.eaddrnotavail += f.eaddrnotavail;
      sum.recycled_failed += f.recycled_failed;
    }
  }
  for (auto& [key, peak] : peaks) {
    w.peaks.push_back(std::move(peak));
  }
  std::stable_sort(w.peaks.begin(), w.peaks.end(), [](const HistoryPeak& a, const HistoryPeak& b) {
    return time_wait_share(a.group) > time_wait_share(b.group);
  });
  for (auto& [destination, f] : failures) {
    if (f.eaddrnotavail > 0 || f.recycled_failed > 0) {
      w.failures.push_back(std::move(f));
    }
  }
  std::stable_sort(
    w.failures.begin(), w.failures.end(), [](const HistoryFailures& a, const HistoryFailures& b) {
      return std::pair(a.eaddrnotavail, a.recycled_failed) > std::pair(b.eaddrnotavail, b.recycled_failed);
    });
  return w;
}

} // namespace tw
