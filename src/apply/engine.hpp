#pragma once

#include "apply/signals.hpp"
#include "apply/target_lock.hpp"
#include "apply/validate.hpp"
#include "apply/watch.hpp"
#include "model/boot.hpp"
#include "model/counters.hpp"
#include "state/journal.hpp"
#include "sysctld/generated_file.hpp"
#include "util/durable_fs.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tw {

// For each setting that a file named file_name in /etc/sysctl.d (under root) would NOT win at boot,
// one clause naming the key, what overrides it (file:line), its value and the loader. Empty: the
// file wins for every key. Backed by the resolver.
using OverrideCheck = std::function<std::map<std::string, std::string>(const std::filesystem::path& root,
                                                                       const std::string& file_name,
                                                                       const Settings& settings)>;

// What the boot-time configuration sets for a key, and where.
struct BootSetting
{
  std::string value;
  std::string origin; // file:line
};

// For each key set at boot by the sysctl.d configuration under root, its winning value and origin.
using BootLookup = std::function<std::map<std::string, BootSetting>(const std::filesystem::path& root,
                                                                    const std::vector<std::string>& keys)>;

// Reads the health counters of the calling network namespace.
using CounterReader = std::function<Counters()>;

// The evidence probe while the watch needs it: read() gives its running totals, and the probe stays
// attached as long as read is held. An empty read means no probe (note says why).
struct SymptomReader
{
  std::function<SymptomCounts()> read;
  std::string note;
};
using SymptomAttach = std::function<SymptomReader()>;

// The watch window: how long, against which thresholds, read how.
struct WatchConfig
{
  std::chrono::seconds duration{ 0 };
  std::chrono::seconds baseline{ 3 }; // pre-apply sampling for the baseline rates (capped by duration)
  std::vector<WatchThreshold> thresholds;
  CounterReader read_counters;
  // Attaches the evidence probe for the watch (called right before the baseline; empty: no probe).
  SymptomAttach attach_symptoms;
};

// Everything apply needs; the CLI fills it from the plan, the policy and the flags.
struct ApplyRequest
{
  std::vector<ProposedChange> changes;
  std::set<std::string> allowed_keys; // from the policy
  bool check_current = false;         // --plan: refuse when the host drifted from the plan's current values
  std::string plan_source = "computed";
  std::string plan_sha256;
  std::filesystem::path root = "/";
  std::filesystem::path state_dir; // empty: k_default_state_dir under root
  std::filesystem::path proc_sys = "/proc/sys";
  std::filesystem::path lock_dir = k_target_lock_dir; // the per-target locks (TargetLocks)
  bool persist = true;
  std::string file_name = k_generated_file_name;
  std::optional<JournalCanary> canary;
  WatchConfig watch;
  OverrideCheck override_check; // may be empty (then the boot check is skipped, with a note)
  std::string command;          // the command line, for the lock and the journal
  std::string rollback_hint =
    "tw-advisor rollback"; // the rollback command with this apply's --root/--state-dir
};

// How an apply ended when it did not throw.
enum class ApplyResult
{
  applied,           // exit 0
  watch_rolled_back, // exit 3: applied, then rolled back by the watch
};

// The outcome of execute(): the result, and the reason for a rollback by the watch.
struct ApplyOutcome
{
  ApplyResult result = ApplyResult::applied;
  std::string reason;
  std::uint64_t reused = 0; // TWRecycled during the watch
  std::string measured;     // what the probe measured before and during the watch (empty: no probe)
  std::string journal_id;
};

// Where apply reports what it does (the CLI prints; tests collect).
class ApplyObserver
{
public:
  virtual ~ApplyObserver() = default;
  // A step has begun or finished: one line for the operator.
  virtual void step(const std::string& message) = 0;
  // One watch sample (about once a second), with the window length.
  virtual void watch_sample(const WatchSample& sample, std::chrono::seconds total) = 0;
};

// One apply, in order: the constructor opens the state dir and takes the lock; prepare() validates
// and reads the host; execute() journals, writes, verifies, watches, persists. Any failure after the
// journal is written rolls everything back before execute() throws.
class Applier
{
public:
  // Locks the targets (network namespace, root), then opens the state dir when it exists and takes
  // its lock; refuses while an interrupted apply awaits rollback. A missing state dir is made at
  // execute(), so an apply that writes nothing leaves nothing behind.
  explicit Applier(ApplyRequest request);
  ~Applier();
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // Validates the request against the host (nothing is written): runtime values, drift from the
  // plan, the sysctl.d file and whether it wins at boot. Throws tw::Error on any problem.
  void prepare();

  // The changes with the runtime values read by prepare() as "old".
  const std::vector<JournalChange>& changes() const { return m_changes; }
  // The sysctl.d file that will be written (when persisting).
  const std::optional<JournalFile>& file() const { return m_file; }
  // Caveats found by prepare(), for the operator.
  const std::vector<std::string>& notes() const { return m_notes; }
  // True when prepare() found every key already at its target and (when persisting) the generated
  // file already setting them: nothing to do, exit 0 (idempotent).
  bool already_applied() const { return m_already_applied; }
  // True when the runtime already holds every target but the generated file does not (deleted, or
  // the keys were set by hand): execute() persists them, journaled like any apply.
  bool persist_only() const { return m_persist_only; }

  // Applies what prepare() found. Throws tw::Error (after rolling back) on failure.
  ApplyOutcome execute(ApplyObserver& observer);

private:
  void open_existing_state_dir();
  void note_earlier_apply(const Settings& in_file);
  void undo_or_throw(Journal& journal, const std::string& reason, ApplyObserver& observer);

  ApplyRequest m_request;
  std::unique_ptr<TargetLocks> m_target_locks;
  std::unique_ptr<Dir> m_state_dir;
  std::unique_ptr<StateLock> m_lock;
  std::vector<JournalChange> m_changes;
  std::optional<JournalFile> m_file;
  std::vector<std::string> m_notes;
  bool m_prepared = false;
  bool m_already_applied = false;
  bool m_persist_only = false;
  std::size_t m_keys_written = 0;
};

// Undoes the journal's apply: every runtime key back to its snapshot value (read back to verify),
// every file back to its exact previous bytes and mode (or removed when it did not exist), temp
// files removed; journal marked rolled-back. Returns the problems (empty: fully restored; else the
// journal stays rolling-back so a later `rollback` retries). Idempotent. keys_written: how many keys
// (in order) this process wrote; an unreadable key past them was never changed and is skipped.
std::vector<std::string> undo_journal(const Dir& state_dir,
                                      Journal& journal,
                                      const std::filesystem::path& root,
                                      const std::string& reason,
                                      ApplyObserver& observer,
                                      std::size_t keys_written = static_cast<std::size_t>(-1));

// What `tw-advisor rollback` did.
struct RollbackOutcome
{
  bool had_journal = false;
  bool already_final = false; // the last apply was already rolled back
  std::string previous_state;
  Journal journal;
};

// What a rollback or status works on: the files under root, the journal in state_dir, the runtime
// keys below proc_sys (the binary's is always /proc/sys of its network namespace), and the lock dir.
struct Target
{
  std::filesystem::path root = "/";
  std::filesystem::path state_dir; // empty: k_default_state_dir under root
  std::filesystem::path proc_sys = "/proc/sys";
  std::filesystem::path lock_dir = k_target_lock_dir;
};

// `tw-advisor rollback`: takes the target locks and the state dir's, loads the journal and undoes
// the last apply (finishing an interrupted one). Throws tw::Error when the journal belongs to
// another root, network namespace or /proc/sys (it writes only below target.proc_sys), when it is
// damaged, or when something could not be restored.
RollbackOutcome rollback_last_apply(const Target& target,
                                    const std::string& command,
                                    ApplyObserver& observer);

// One key as `status` sees it.
struct KeyStatus
{
  std::string key;
  std::string old_value;                // snapshot
  std::string new_value;                // applied
  std::optional<std::string> runtime;   // now; nullopt when unreadable
  std::string runtime_note;             // why unreadable
  std::optional<std::string> persisted; // in the generated file now
  std::optional<BootSetting> boot;      // what boot would set, per the resolver
  std::vector<std::string> drift;       // disagreements, one line each
};

// The file as `status` sees it.
struct FileStatus
{
  std::string path; // as on the host: /etc/sysctl.d/90-tw-advisor.conf
  bool exists = false;
  bool matches_applied = false;  // bytes equal what apply wrote
  bool matches_snapshot = false; // bytes (or absence) equal what was there before
  bool temp_left = false;        // a temp file of an interrupted apply is still there
};

// Where the last apply stands, as status reports it.
enum class StatusCondition
{
  none,        // nothing was ever applied with this state dir
  done,        // applied and persisted
  rolled_back, // undone
  interrupted, // an apply stopped half-way (killed): rollback finishes it
  in_progress, // an apply holds the lock now (perhaps before writing its journal)
  damaged,     // the journal cannot be read: restore by hand (StatusReport::recovery)
};

// "none", "done", "rolled-back", "interrupted", "in-progress", "damaged".
const char* to_string(StatusCondition condition);

// `tw-advisor status`: the last apply, its condition and the drift between runtime, journal and
// the persisted configuration.
struct StatusReport
{
  std::filesystem::path state_dir;
  bool has_journal = false;
  Journal journal;
  StatusCondition condition = StatusCondition::none;
  std::vector<KeyStatus> keys;
  std::vector<FileStatus> files;
  std::vector<std::string> notes;
  bool drifted = false;              // any key or file disagrees with the journal's final state
  std::string journal_error;         // "damaged": why the journal could not be read
  std::vector<std::string> recovery; // "damaged": how to restore by hand, one step a line
  std::string next;                  // what to run next when something needs it ("" when not)
  // "--netns X --state-dir S" (and --root) reaching the namespace the last apply ran in and its
  // state, when that is not this namespace: its runtime values are not judged here (empty: this one).
  std::string apply_netns{};
  // status --history: the finished applies kept in the state dir, newest first (nullopt: not asked).
  std::optional<JournalArchive> history;
};

// " --root R --state-dir S" for a root other than / and a state dir given (absolute paths, shell
// quoted), so a command a hint names acts on the same tree; empty for the host's defaults.
std::string target_args(const std::string& root, const std::string& state_dir);

// The options that reach the network namespace with this inode and target's state from another
// namespace, for a command to paste: "--netns NAME|PID [--root R] --state-dir S" (absolute paths).
std::string apply_netns_options(std::uint64_t netns_inode, const Target& target);

// Reads the state (takes no lock; never writes). A damaged journal is a condition, not an error:
// the report then says what it could still read of the snapshot and how to restore by hand.
StatusReport read_status(const Target& target, const BootLookup& boot_lookup);

} // namespace tw
