#pragma once

#include "model/history.hpp"
#include "util/durable_fs.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tw {

// The monitor's rolling history in a state dir: one JSON object per line, one line per interval
// (doc/monitor.md). Appended with one write and an fsync, so a crash loses at most the interval
// being written; a torn last line is ignored by readers and closed off by the next writer.
inline constexpr const char* k_history_file = "monitor-history.jsonl";
// Held by the one monitor writing a state dir's history (a second one is refused at its start).
inline constexpr const char* k_history_lock = "monitor-history.lock";

// One record as one line of JSON (without the newline).
std::string history_line(const HistoryRecord& record);

// The record in one line; nullopt when the line is not one (torn, or from another version).
std::optional<HistoryRecord> parse_history_line(std::string_view line);

// Appends the monitor's records, keeping about the last `keep` of them: once the oldest is older
// than keep and a quarter, the file is rewritten atomically with the records still inside keep.
class HistoryWriter
{
public:
  // Opens (creating) the state directory and takes its history lock. Throws tw::Error naming the
  // path, or the monitor holding the lock.
  HistoryWriter(const std::filesystem::path& state_dir, std::chrono::seconds keep);

  // Appends the record and fsyncs; compacts when due. Throws tw::Error naming the path.
  void append(const HistoryRecord& record);

  // The file written.
  std::filesystem::path path() const;

private:
  void compact(double now_unix);

  Dir m_dir;
  FileLock m_lock;
  std::chrono::seconds m_keep;
  std::optional<double> m_oldest; // the oldest record in the file, once known
};

// The records of netns_inode in [now_unix - since_seconds, now_unix] from the history file at
// path, reduced to the peak of each destination group and the failures summed. A missing or
// unreadable file gives an unavailable window with the reason; torn lines are counted, not fatal.
HistoryWindow read_history(const std::filesystem::path& path,
                           double since_seconds,
                           double now_unix,
                           std::uint64_t netns_inode);

} // namespace tw
