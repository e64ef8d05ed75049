#pragma once

#include "model/boot.hpp"
#include "util/durable_fs.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// The journal format this build writes and reads. Bump it on any incompatible change; a journal
// with another version is refused with a message, never guessed at (doc/apply.md).
inline constexpr int k_journal_format_version = 1;

// The journal's file name in the state directory.
inline constexpr const char* k_journal_name = "journal.json";

// Where an apply is. Every transition is written and fsynced before the step it announces.
enum class JournalState
{
  prepared,        // journal and snapshot durable; nothing changed yet
  runtime_applied, // every key written and read back
  watching,        // in the watch window
  persisting,      // writing the sysctl.d file (a temp file may exist)
  done,            // applied and persisted: final
  rolling_back,    // undoing (after an error, a tripped watch, or `rollback`)
  rolled_back,     // undone: runtime and files as in the snapshot; final
};

// "prepared", "runtime-applied", ... as written in the journal.
const char* to_string(JournalState state);

// The state named by text; nullopt when unknown.
std::optional<JournalState> journal_state_from(const std::string& text);

// True for done and rolled-back: nothing left to finish.
bool is_final(JournalState state);

// One runtime key: its value before (the snapshot) and the value apply writes.
struct JournalChange
{
  std::string key;       // dotted name
  std::string old_value; // as read from /proc/sys before anything was written, whitespace folded
  std::string new_value; // as proposed by the plan
};

// One file apply writes: its exact previous state (the snapshot) and the content it writes.
struct JournalFile
{
  std::string dir;                   // absolute directory as seen on the host: /etc/sysctl.d
  std::string name;                  // file name in dir: 90-tw-advisor.conf
  std::string temp_name;             // the temp file an atomic write uses, removed by rollback
  std::optional<FileContent> before; // nullopt: the file did not exist
  FileContent after;                 // what apply writes
};

// A line of the journal's history: when it entered a state, and why.
struct JournalEvent
{
  std::string state;
  std::string at; // UTC, ISO 8601
  std::string note;
};

// The canary decision recorded with an apply.
struct JournalCanary
{
  std::string host_id;
  double percent = 0.0;
  std::uint32_t bucket = 0;
};

// Everything needed to finish or undo an apply after any crash; see doc/apply.md for the format.
struct Journal
{
  std::string id;           // UTC time and pid: unique per apply
  std::string tool_version; // tw-advisor version that wrote it
  std::string command;      // the command line
  std::string created_at;
  std::string updated_at;
  JournalState state = JournalState::prepared;
  std::string root;              // --root at apply time (files live under it)
  std::string proc_sys;          // where runtime keys were written (/proc/sys)
  std::uint64_t netns_inode = 0; // network namespace the keys belong to (0: unknown)
  std::string plan_source;       // plan file path, or "computed" for a fresh plan
  std::string plan_sha256;       // of the plan file's bytes, or of the computed plan's JSON
  std::optional<JournalCanary> canary;
  std::int64_t watch_seconds = 0;
  bool persist = true;
  std::vector<JournalChange> changes;
  std::vector<JournalFile> files;
  std::string reason; // why it was rolled back (empty otherwise)
  std::vector<JournalEvent> history;
};

// The journal as JSON (format_version 1).
nlohmann::json journal_to_json(const Journal& journal);

// Parses a journal; throws tw::Error naming source and the problem for a malformed document or a
// format_version this build does not know.
Journal journal_from_json(const nlohmann::json& json, const std::string& source);

// A file of a damaged journal, as far as it can still be read.
struct SalvagedFile
{
  enum class State
  {
    absent_before, // the snapshot says the file did not exist
    known,         // the snapshot's bytes decode and match their sha256
    unknown,       // the snapshot cannot be read
  };
  std::string dir;
  std::string name;
  State state = State::unknown;
  FileContent before; // when known
};

// What can still be read of a journal that journal_from_json refuses (cut short by a full disk,
// edited, a checksum that fails): the complete change and file entries, nothing guessed.
struct JournalSalvage
{
  std::vector<JournalChange> changes;
  std::vector<SalvagedFile> files;
  bool truncated = false; // not even valid JSON: entries after the cut are missing
};

// Every finished apply's journal (done or rolled back) is also kept as journals/ID.json in the
// state dir, the last k_journals_kept of them, for `status --history`.
inline constexpr const char* k_journal_archive_dir = "journals";
inline constexpr std::size_t k_journals_kept = 20;

// Copies a finished journal into the archive (atomically) and removes the oldest beyond
// k_journals_kept. Throws tw::Error naming the path.
void archive_journal(const Dir& state_dir, const Journal& journal);

// The archived journals, newest first; one that cannot be read is skipped and said in problems.
struct JournalArchive
{
  std::vector<Journal> journals;
  std::vector<std::string> problems;
};
JournalArchive load_journal_archive(const std::filesystem::path& state_dir);

// The state directory when --state-dir is not given (under --root).
inline constexpr const char* k_default_state_dir = "/var/lib/tw-advisor";

// The state directory for root and an optional --state-dir.
std::filesystem::path resolve_state_dir(const std::filesystem::path& root,
                                        const std::filesystem::path& state_dir);

// The apply that was interrupted and awaits `tw-advisor rollback`, when the state dir (under root)
// holds one; nullopt otherwise (no state dir, no journal, finished, or still running). Reads only,
// takes no lock: cheap enough for `plan` to call.
std::optional<InterruptedApply> find_interrupted_apply(const std::filesystem::path& root,
                                                       const std::filesystem::path& state_dir);

// Reads what it can of a damaged journal's bytes (for `status` to say how to restore by hand).
JournalSalvage salvage_journal(std::string_view bytes);

// Writes the journal atomically (temp file, fsync, rename, fsync of the directory) as journal.json.
void save_journal(const Dir& state_dir, const Journal& journal);

// Reads journal.json; nullopt when there is none. Throws tw::Error when it cannot be read or parsed.
std::optional<Journal> load_journal(const Dir& state_dir);

// Moves the journal to state, stamps the time and appends a history line, then saves it.
void advance_journal(const Dir& state_dir,
                     Journal& journal,
                     JournalState state,
                     const std::string& note = {});

// Now in UTC, ISO 8601 with seconds: 2026-11-24T21:05:00Z.
std::string utc_now();

// Standard base64 (RFC 4648, with padding): file bytes in the journal, exact and JSON-safe.
std::string base64_encode(std::string_view bytes);

// Decodes standard base64; nullopt on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace tw
