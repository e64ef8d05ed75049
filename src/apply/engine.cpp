#include "apply/engine.hpp"

#include "apply/failpoint.hpp"
#include "apply/runtime_writer.hpp"
#include "apply/sha256.hpp"
#include "apply/target_lock.hpp"
#include "facts/host.hpp"
#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace tw {

namespace {

volatile std::sig_atomic_t g_interrupt_signal = 0;

extern "C" void on_interrupt(int signal)
{
  g_interrupt_signal = signal;
}

std::string join(const std::vector<std::string>& lines, const std::string& sep)
{
  std::string out;
  for (const auto& line : lines) {
    out += (out.empty() ? "" : sep) + line;
  }
  return out;
}

// bytes as indented lines, control characters escaped, for a warning.
std::string printable_block(const std::string& bytes)
{
  std::string out;
  for (const auto line : split(bytes, '\n')) {
    if (!line.empty()) {
      out += (out.empty() ? "" : "\n") + std::string("      | ") + printable(line);
    }
  }
  return out;
}

// The settings apply writes for these changes: each key with its new value.
Settings updates_of(const std::vector<JournalChange>& changes)
{
  Settings updates;
  for (const auto& c : changes) {
    updates.emplace_back(c.key, c.new_value);
  }
  return updates;
}

// True when every update is already in settings with the same value.
bool settings_hold(const Settings& settings, const Settings& updates)
{
  return std::all_of(updates.begin(), updates.end(), [&](const auto& update) {
    return std::any_of(settings.begin(), settings.end(), [&](const auto& s) {
      return s.first == update.first && same_sysctl_value(s.second, update.second);
    });
  });
}

std::string temp_name_for(const std::string& name)
{
  return "." + name + ".tw-advisor-tmp";
}

std::string rollback_temp_name_for(const std::string& name)
{
  return "." + name + ".tw-advisor-rollback";
}

// Sleeps up to `duration` in short steps; false when a signal asked to stop.
bool sleep_interruptibly(std::chrono::milliseconds duration)
{
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (interrupt_requested()) {
      return false;
    }
    const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(100)));
  }
  return !interrupt_requested();
}

std::string interrupt_reason()
{
  const int sig = g_interrupt_signal;
  const char* name = "";
  switch (sig) {
    case SIGINT:
      name = " (SIGINT)";
      break;
    case SIGTERM:
      name = " (SIGTERM)";
      break;
    case SIGHUP:
      name = " (SIGHUP: the terminal went away)";
      break;
    default:
      break;
  }
  return "interrupted by signal " + std::to_string(sig) + name;
}

} // namespace

std::filesystem::path resolve_state_dir(const std::filesystem::path& root,
                                        const std::filesystem::path& state_dir)
{
  return state_dir.empty() ? under_root(root, k_default_state_dir) : state_dir;
}

void install_interrupt_handlers()
{
  struct sigaction sa
  {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  for (const int sig : { SIGINT, SIGTERM, SIGHUP }) {
    ::sigaction(sig, &sa, nullptr);
  }
  // By default SIGPIPE kills the process at its next write to a closed pipe (`apply ... | head`),
  // which would leave a half-applied change with no watch. Ignored, such a write only fails
  // (EPIPE): the confirmed apply or rollback runs to its end, watch included, whatever the output.
  struct sigaction ignore
  {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

bool interrupt_requested()
{
  return g_interrupt_signal != 0;
}

Applier::Applier(ApplyRequest request)
  : m_request(std::move(request))
{
  check_failpoint_env();
  // Everything that can be checked without the state dir is checked first, so a refused apply (a
  // bad plan, no root) leaves nothing behind: no state dir, no lock file.
  const auto problems = validate_changes(m_request.changes, m_request.allowed_keys);
  if (!problems.empty()) {
    throw Error("plan " + m_request.plan_source, "refused before any change: " + join(problems, "; "));
  }
  for (const auto& change : m_request.changes) {
    const auto path = sysctl_path(m_request.proc_sys, change.key);
    if (path && ::access(path->c_str(), F_OK) == 0 && ::access(path->c_str(), W_OK) != 0) {
      throw Error(
        path->string(),
        "cannot be written (" + errno_text(errno) +
          "): apply needs root in this network namespace and a writable /proc/sys; nothing was changed");
    }
  }
  // Two applies on one target must never interleave, whatever their state dirs: the network
  // namespace (runtime keys) and the root (files) are locked first, for the whole apply.
  m_target_locks = std::make_unique<TargetLocks>(
    m_request.lock_dir,
    std::vector<LockTarget>{ runtime_target(m_request.proc_sys), root_target(m_request.root) },
    m_request.command);
  open_existing_state_dir();
}

void Applier::open_existing_state_dir()
{
  const auto path = resolve_state_dir(m_request.root, m_request.state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    return; // nothing was ever applied here: made at execute(), when there is something to journal
  }
  m_state_dir = std::make_unique<Dir>(open_state_dir(path));
  m_lock = std::make_unique<StateLock>(*m_state_dir, m_request.command);
  if (const auto last = load_journal(*m_state_dir); last && !is_final(last->state)) {
    throw Error(m_state_dir->name_path(k_journal_name),
                "the last apply (" + last->id + ", started " + last->created_at + ") stopped in state " +
                  to_string(last->state) + " and was never finished; run `" + m_request.rollback_hint +
                  "` first to restore the previous state, then apply again; nothing was changed");
  }
}

Applier::~Applier() = default;

void Applier::prepare()
{
  const auto& req = m_request;
  const auto problems = validate_changes(req.changes, req.allowed_keys);
  if (!problems.empty()) {
    throw Error("plan " + req.plan_source, "refused before any change: " + join(problems, "; "));
  }
  m_changes.clear();
  m_already_applied = false;
  m_persist_only = false;
  std::vector<std::string> drift;
  bool all_at_target = true;
  for (const auto& change : req.changes) {
    const auto now = read_sysctl(req.proc_sys, change.key);
    if (now.status != ReadStatus::ok) {
      throw Error(change.key,
                  "cannot read the current value (" + std::string(to_string(now.status)) +
                    "): " + now.detail + "; nothing was changed");
    }
    if (const auto path = sysctl_path(req.proc_sys, change.key); path && ::access(path->c_str(), W_OK) != 0) {
      throw Error(
        path->string(),
        "cannot be written (" + errno_text(errno) +
          "): apply needs root in this network namespace and a writable /proc/sys; nothing was changed");
    }
    // A key already at its target is not drift, whatever the plan saw: it is where the plan leads.
    if (!same_sysctl_value(now.value, change.proposed)) {
      all_at_target = false;
      if (req.check_current && !same_sysctl_value(now.value, change.current)) {
        drift.push_back(change.key + " is \"" + now.value + "\" but the plan saw \"" + change.current + "\"");
      }
    }
    m_changes.push_back({ change.key, now.value, normalize_space(change.proposed) });
  }
  if (!drift.empty()) {
    throw Error("plan " + req.plan_source,
                "the host has changed since the plan was made (" + join(drift, "; ") +
                  "); nothing was changed: make a new plan and review it");
  }
  m_file.reset();
  bool persisted = true; // the generated file already sets every key to its target
  if (req.persist) {
    const auto dir_path = under_root(req.root, k_sysctld_dir);
    const Dir dir = Dir::open(dir_path);
    JournalFile file;
    file.dir = k_sysctld_dir;
    file.name = req.file_name;
    file.temp_name = temp_name_for(req.file_name);
    file.before = read_file_at(dir, req.file_name);
    Settings previous;
    if (file.before) {
      const auto parsed = parse_generated_settings(file.before->bytes);
      if (!parsed) {
        throw Error(dir.name_path(req.file_name),
                    "exists and was not generated by tw-advisor (no \"" + std::string(k_generated_marker) +
                      "\" header, or a line that is not key = value); refusing to overwrite it");
      }
      previous = *parsed;
    }
    const auto settings = merge_settings(previous, updates_of(m_changes));
    persisted = file.before.has_value() && settings_hold(previous, updates_of(m_changes));
    if (req.override_check) {
      const auto overridden = req.override_check(req.root, req.file_name, settings);
      if (!overridden.empty()) {
        std::vector<std::string> lines;
        lines.reserve(overridden.size());
        for (const auto& [key, why] : overridden) {
          lines.push_back(why.find(key) == std::string::npos ? key + ": " + why : why);
        }
        throw Error(dir.name_path(req.file_name),
                    "would not win at boot: " + join(lines, "; ") +
                      ". Nothing was changed; remove or edit the overriding line, or pass --no-persist");
      }
    } else {
      m_notes.push_back("the boot-order check was skipped: no sysctl.d resolver in this build");
    }
    if (!(all_at_target && persisted)) {
      if (::faccessat(dir.fd(), ".", W_OK, AT_EACCESS) != 0) {
        throw Error(dir_path.string(),
                    "cannot write here (" + errno_text(errno) +
                      "); nothing was changed. Fix it, or pass --no-persist to change the runtime only");
      }
      // The header's time and apply id are filled at execute(); the content here is for review.
      file.after.mode = 0644;
      file.after.bytes = render_generated_file(
        { k_version, "(at apply)", req.plan_source, req.plan_sha256, "(at apply)" }, settings);
      m_file = std::move(file);
    }
  }
  // The same reviewed plan run again (a config-management loop): "already applied" only when the
  // runtime holds every target AND (when persisting) the generated file sets them, so a deleted
  // file or values set by hand are persisted now instead of being reported as converged.
  if (!req.changes.empty() && all_at_target) {
    m_already_applied = persisted;
    m_persist_only = !persisted;
  }
  m_prepared = true;
}

ApplyOutcome Applier::execute(ApplyObserver& observer)
{
  if (!m_prepared || m_already_applied) {
    throw Error("apply", "internal: execute() without a prepared change");
  }
  const auto& req = m_request;
  ApplyOutcome outcome;
  if (!m_state_dir) {
    open_existing_state_dir(); // another apply may have made it meanwhile (another target)
  }
  if (!m_state_dir) {
    m_state_dir =
      std::make_unique<Dir>(open_state_dir(resolve_state_dir(m_request.root, m_request.state_dir)));
    m_lock = std::make_unique<StateLock>(*m_state_dir, m_request.command);
  }

  // Baseline rates for the watch, before anything changes.
  std::map<std::string, double> baseline;
  const auto watch_seconds = req.watch.duration;
  if (watch_seconds.count() > 0) {
    if (!req.watch.read_counters) {
      throw Error("watch", "internal: no counter reader");
    }
    if (req.watch.thresholds.empty()) {
      throw Error("watch", "no watch rules: a watch would judge nothing; nothing was changed");
    }
    const Counters before = req.watch.read_counters();
    if (!before.available) {
      throw Error("health counters", before.error + "; cannot watch, nothing was changed");
    }
    // A rule whose counter this kernel does not report would never be judged: the watch would pass
    // whatever happens.
    for (const auto& t : req.watch.thresholds) {
      if (!before.get(t.counter)) {
        throw Error("watch rule " + t.rule_id,
                    "counter " + t.counter +
                      " is not reported by this kernel (/proc/net/snmp, /proc/net/netstat); it could "
                      "never be judged. Nothing was changed");
      }
    }
    const auto base_window = std::min(req.watch.baseline, watch_seconds);
    if (base_window.count() > 0) {
      observer.step("measuring the baseline of the health counters for " +
                    std::to_string(base_window.count()) + " s");
      const auto t0 = std::chrono::steady_clock::now();
      if (!sleep_interruptibly(base_window)) {
        throw Error("apply", interrupt_reason() + " before any change; nothing was changed");
      }
      const Counters after = req.watch.read_counters();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (const auto& t : req.watch.thresholds) {
        const auto a = before.get(t.counter);
        const auto b = after.get(t.counter);
        if (a && b && *b >= *a && secs > 0.0) {
          baseline[t.counter] = static_cast<double>(*b - *a) / secs;
        }
      }
    }
  }
  if (interrupt_requested()) {
    throw Error("apply", interrupt_reason() + " before any change; nothing was changed");
  }

  Journal journal;
  journal.id = utc_now() + "-" + std::to_string(::getpid());
  journal.tool_version = k_version;
  journal.command = req.command;
  journal.created_at = utc_now();
  journal.root = std::filesystem::absolute(req.root).lexically_normal().string();
  journal.proc_sys = req.proc_sys.string();
  journal.netns_inode = current_netns_inode();
  journal.plan_source = req.plan_source;
  journal.plan_sha256 = req.plan_sha256;
  journal.canary = req.canary;
  journal.watch_seconds = watch_seconds.count();
  journal.persist = req.persist;
  journal.changes = m_changes;
  if (m_file) {
    JournalFile file = *m_file;
    const auto before =
      file.before ? parse_generated_settings(file.before->bytes) : std::optional<Settings>(Settings{});
    file.after.bytes =
      render_generated_file({ k_version, journal.created_at, req.plan_source, req.plan_sha256, journal.id },
                            merge_settings(before ? *before : Settings{}, updates_of(m_changes)));
    journal.files.push_back(std::move(file));
  }
  outcome.journal_id = journal.id;

  // Step 1: the journal (with the snapshot) is durable before anything changes.
  journal.updated_at = journal.created_at;
  journal.history.push_back(
    { to_string(JournalState::prepared), journal.created_at, "journal and snapshot written" });
  save_journal(*m_state_dir, journal);
  observer.step("journal " + m_state_dir->name_path(k_journal_name) + " written (" + journal.id + ")");
  failpoint("after-journal");

  try {
    // Step 2: runtime keys, each read back.
    bool first = true;
    m_keys_written = 0;
    for (const auto& change : journal.changes) {
      if (interrupt_requested()) {
        throw Error("apply", interrupt_reason());
      }
      const auto written = write_runtime_key(req.proc_sys, change.key, change.new_value);
      if (!written.ok) {
        throw Error(change.key, written.error);
      }
      ++m_keys_written;
      observer.step("set " + change.key + " = " + change.new_value + " (was " + change.old_value +
                    "), verified");
      if (first) {
        failpoint("mid-runtime");
        first = false;
      }
    }
    advance_journal(*m_state_dir, journal, JournalState::runtime_applied, "every key written and read back");
    failpoint("after-runtime");

    // Step 3: the watch window.
    if (watch_seconds.count() > 0) {
      advance_journal(*m_state_dir,
                      journal,
                      JournalState::watching,
                      "watching for " + std::to_string(watch_seconds.count()) + " s");
      observer.step("watching the health counters for " + std::to_string(watch_seconds.count()) + " s");
      const Counters start = req.watch.read_counters();
      if (!start.available) {
        throw Error("health counters", start.error);
      }
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t i = 1; i <= watch_seconds.count(); ++i) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          t0 + std::chrono::seconds(i) - std::chrono::steady_clock::now());
        if (!sleep_interruptibly(std::max(wait, std::chrono::milliseconds(0)))) {
          throw Error("apply", interrupt_reason() + " during the watch");
        }
        const Counters now = req.watch.read_counters();
        if (!now.available) {
          throw Error("health counters", now.error + " (during the watch)");
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto sample = evaluate_watch(start, now, elapsed, baseline, req.watch.thresholds);
        outcome.reused = sample.reused;
        observer.watch_sample(sample, watch_seconds);
        if (sample.trip) {
          outcome.result = ApplyResult::watch_rolled_back;
          outcome.reason = *sample.trip;
          undo_or_throw(journal, "the watch tripped: " + *sample.trip, observer);
          return outcome;
        }
      }
    }

    // Step 4: persist.
    if (!journal.files.empty()) {
      advance_journal(*m_state_dir, journal, JournalState::persisting, "writing the sysctl.d file");
      for (const auto& file : journal.files) {
        const Dir dir = Dir::open(under_root(req.root, file.dir));
        write_file_atomically(dir, file.name, file.temp_name, file.after.bytes, file.after.mode, [] {
          failpoint("mid-persist");
        });
        observer.step("wrote " + (std::filesystem::path(file.dir) / file.name).string() + " (under root " +
                      journal.root + ")");
      }
      failpoint("after-persist");
    }
    if (interrupt_requested()) {
      throw Error("apply", interrupt_reason());
    }
    advance_journal(*m_state_dir, journal, JournalState::done, "applied");
  } catch (const Error& e) {
    undo_or_throw(journal, e.what(), observer);
    throw Error(e.subject(), e.reason() + "; every change was rolled back");
  } catch (const std::exception& e) {
    undo_or_throw(journal, e.what(), observer);
    throw Error("apply", std::string(e.what()) + "; every change was rolled back");
  }
  return outcome;
}

void Applier::undo_or_throw(Journal& journal, const std::string& reason, ApplyObserver& observer)
{
  const auto problems = undo_journal(*m_state_dir, journal, m_request.root, reason, observer, m_keys_written);
  if (!problems.empty()) {
    throw Error("apply failed (" + reason + ") and the rollback is incomplete",
                join(problems, "; ") + "; fix the cause and run `" + m_request.rollback_hint + "` again");
  }
}

std::vector<std::string> undo_journal(const Dir& state_dir,
                                      Journal& journal,
                                      const std::filesystem::path& root,
                                      const std::string& reason,
                                      ApplyObserver& observer,
                                      std::size_t keys_written)
{
  std::vector<std::string> problems;
  journal.reason = reason;
  // Restoring matters more than recording it: a journal that cannot be written (full disk) must
  // not stop the runtime and files from being put back. The journal then keeps its old state,
  // and a later `rollback` (idempotent) finds nothing left to do but marking it.
  try {
    advance_journal(state_dir, journal, JournalState::rolling_back, reason);
  } catch (const Error& e) {
    problems.push_back(std::string("journal not updated: ") + e.what());
  }
  const std::filesystem::path proc_sys = journal.proc_sys;
  for (std::size_t i = journal.changes.size(); i-- > 0;) {
    const auto* it = &journal.changes[i];
    const auto now = read_sysctl(proc_sys, it->key);
    if (now.status == ReadStatus::ok && same_sysctl_value(now.value, it->old_value)) {
      continue;
    }
    // A key apply never got to (or whose write failed) and that cannot be read was not changed.
    if (i >= keys_written && now.status != ReadStatus::ok) {
      continue;
    }
    // Someone changed the key after the apply: say what is being overwritten, so it is not lost
    // silently (the operator can set it again by hand).
    if (now.status == ReadStatus::ok && !same_sysctl_value(now.value, it->new_value)) {
      observer.step("warning: " + it->key + " was changed since the apply (now \"" + now.value +
                    "\", apply set \"" + it->new_value + "\"); overwriting it with the pre-apply value \"" +
                    it->old_value + "\"");
    }
    const auto written = write_runtime_key(proc_sys, it->key, it->old_value);
    if (written.ok) {
      observer.step("restored " + it->key + " = " + it->old_value);
    } else {
      problems.push_back(written.error);
    }
  }
  for (const auto& file : journal.files) {
    const auto dir_path = under_root(root, file.dir);
    try {
      const Dir dir = Dir::open(dir_path);
      remove_file_durably(dir, file.temp_name);
      const auto rollback_temp = rollback_temp_name_for(file.name);
      const auto current = read_file_at(dir, file.name);
      if (current && current->bytes != file.after.bytes &&
          (!file.before || current->bytes != file.before->bytes)) {
        observer.step(
          "warning: " + dir.name_path(file.name) +
          " was edited since the apply; its current content is replaced by " +
          (file.before ? std::string("the pre-apply content") : std::string("nothing (removed)")) +
          ". It was:\n" + printable_block(current->bytes));
      }
      if (file.before) {
        if (!current || current->bytes != file.before->bytes || current->mode != file.before->mode) {
          write_file_atomically(dir, file.name, rollback_temp, file.before->bytes, file.before->mode);
          observer.step("restored " + dir.name_path(file.name));
        }
      } else if (current) {
        remove_file_durably(dir, file.name);
        observer.step("removed " + dir.name_path(file.name) + " (it did not exist before)");
      }
      remove_file_durably(dir, rollback_temp);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  try {
    if (problems.empty()) {
      advance_journal(state_dir, journal, JournalState::rolled_back, "restored the snapshot");
    } else {
      journal.reason = reason + " (rollback incomplete: " + join(problems, "; ") + ")";
      save_journal(state_dir, journal);
    }
  } catch (const Error& e) {
    problems.push_back(std::string("journal not updated: ") + e.what());
  }
  return problems;
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

RollbackOutcome rollback_last_apply(const Target& target, const std::string& command, ApplyObserver& observer)
{
  RollbackOutcome out;
  const auto& root = target.root;
  const auto path = resolve_state_dir(root, target.state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    return out; // nothing was ever applied here; do not create the directory just to say so
  }
  const TargetLocks locks(target.lock_dir, { runtime_target(target.proc_sys), root_target(root) }, command);
  const Dir dir = open_state_dir(path);
  const StateLock lock(dir, command);
  std::optional<Journal> journal;
  try {
    journal = load_journal(dir);
  } catch (const Error& e) {
    throw Error(e.subject(),
                e.reason() + "; rollback cannot trust it and changed nothing. `tw-advisor status` shows "
                             "what it can still read of the snapshot and how to restore by hand");
  }
  if (!journal) {
    return out;
  }
  out.had_journal = true;
  out.previous_state = to_string(journal->state);
  if (journal->state == JournalState::rolled_back) {
    out.already_final = true;
    out.journal = *journal;
    return out;
  }
  const auto root_now = std::filesystem::absolute(root).lexically_normal().string();
  if (journal->root != root_now) {
    throw Error(dir.name_path(k_journal_name),
                "the last apply ran with --root " + journal->root + ", not " + root_now +
                  "; run rollback with the same --root");
  }
  // Rollback writes only below the /proc/sys of the namespace it runs in: a journal that names
  // another tree (edited, or copied from elsewhere) would make it write there and report success.
  if (std::filesystem::path(journal->proc_sys).lexically_normal() != target.proc_sys.lexically_normal()) {
    throw Error(dir.name_path(k_journal_name),
                "records its runtime keys under " + printable(journal->proc_sys) +
                  ", but rollback writes only below " + target.proc_sys.string() +
                  " (this network namespace's); the journal was edited or comes from elsewhere: nothing was "
                  "changed");
  }
  const auto ns = current_netns_inode();
  if (journal->netns_inode != 0 && ns != 0 && journal->netns_inode != ns) {
    throw Error(dir.name_path(k_journal_name),
                "the last apply changed network namespace " + std::to_string(journal->netns_inode) +
                  " but this process is in " + std::to_string(ns) +
                  "; run rollback inside that namespace (ip netns exec / nsenter -n)");
  }
  const std::string reason = journal->state == JournalState::done
                               ? "rolled back on request (" + command + ")"
                               : "finishing an apply interrupted in state " + out.previous_state;
  const auto problems = undo_journal(dir, *journal, root, reason, observer);
  if (!problems.empty()) {
    throw Error("rollback of " + journal->id,
                "incomplete: " + join(problems, "; ") + "; fix the cause and run it again");
  }
  out.journal = *journal;
  return out;
}

const char* to_string(StatusCondition condition)
{
  switch (condition) {
    case StatusCondition::none:
      return "none";
    case StatusCondition::done:
      return "done";
    case StatusCondition::rolled_back:
      return "rolled back";
    case StatusCondition::interrupted:
      return "interrupted";
    case StatusCondition::in_progress:
      return "in progress";
    case StatusCondition::damaged:
      return "damaged";
  }
  return "none";
}

namespace {

// What an apply holding a lock on this target or state dir recorded, when one does right now.
std::optional<std::string> apply_holding(const Target& target, const std::optional<Dir>& state_dir)
{
  if (state_dir) {
    if (const auto holder = lock_holder(*state_dir, "lock")) {
      return "the state dir: " + (holder->empty() ? std::string("holder not recorded yet") : *holder);
    }
  }
  try {
    return target_lock_holder(target.lock_dir, { runtime_target(target.proc_sys), root_target(target.root) });
  } catch (const Error&) {
    return std::nullopt; // a root that cannot be stat-ed is reported elsewhere
  }
}

// A journaled key with its runtime value now (or why it cannot be read).
KeyStatus key_status(const JournalChange& change, const std::filesystem::path& proc_sys)
{
  KeyStatus k;
  k.key = change.key;
  k.old_value = change.old_value;
  k.new_value = change.new_value;
  const auto now = read_sysctl(proc_sys, change.key);
  if (now.status == ReadStatus::ok) {
    k.runtime = now.value;
  } else {
    k.runtime_note = now.detail;
  }
  return k;
}

// "0644".
std::string octal_mode(mode_t mode)
{
  return fmt::format("{:04o}", static_cast<unsigned>(mode & 07777));
}

// What a damaged journal still tells (its snapshot) and the steps to restore by hand.
void recovery_steps(const JournalSalvage& salvage, const Target& target, StatusReport& report)
{
  auto& steps = report.recovery;
  if (salvage.changes.empty()) {
    steps.push_back("no snapshot value can be read from the journal: the values before the apply are "
                    "unknown; compare the keys in " +
                    (std::filesystem::path(k_sysctld_dir) / k_generated_file_name).string() +
                    " with what the host should have (configuration management, another host)");
  }
  for (const auto& c : salvage.changes) {
    KeyStatus k = key_status(c, target.proc_sys);
    if (k.runtime && same_sysctl_value(*k.runtime, c.old_value)) {
      steps.push_back(c.key + " already holds its value from before the apply (" + c.old_value + ")");
    } else {
      steps.push_back("sysctl -w " + c.key + "=" + shell_word(c.old_value) +
                      "   (the value before the apply; now " + (k.runtime ? *k.runtime : "unreadable") + ")");
    }
    report.keys.push_back(std::move(k));
  }
  for (const auto& f : salvage.files) {
    const auto path = under_root(target.root, std::filesystem::path(f.dir) / f.name).string();
    if (f.state == SalvagedFile::State::absent_before) {
      steps.push_back("rm " + shell_word(path) + "   (it did not exist before the apply)");
    } else if (f.state == SalvagedFile::State::known) {
      std::string block;
      for (const auto line : split(f.before.bytes, '\n')) {
        block += "\n      | " + printable(line);
      }
      steps.push_back("write back " + path + " as it was before the apply (" +
                      std::to_string(f.before.bytes.size()) + " bytes, mode " + octal_mode(f.before.mode) +
                      "):" + block);
    } else {
      steps.push_back("the previous content of " + path +
                      " cannot be read from the journal: remove the keys above from it by hand");
    }
  }
  if (salvage.truncated) {
    steps.push_back("the journal is cut short: more keys or files than listed here may have been changed");
  }
  steps.push_back("then move the damaged journal aside (mv " +
                  shell_word((report.state_dir / k_journal_name).string()) + " " +
                  shell_word((report.state_dir / k_journal_name).string() + ".damaged") +
                  ") so that apply can run again");
}

} // namespace

StatusReport read_status(const Target& target, const BootLookup& boot_lookup)
{
  const auto& root = target.root;
  StatusReport report;
  report.state_dir = resolve_state_dir(root, target.state_dir);
  std::error_code ec;
  std::optional<Dir> dir;
  if (std::filesystem::exists(std::filesystem::symlink_status(report.state_dir, ec))) {
    dir.emplace(open_state_dir(report.state_dir, false)); // status only reads
  }
  std::optional<Journal> journal;
  if (dir) {
    try {
      journal = load_journal(*dir);
    } catch (const Error& e) {
      std::string bytes;
      try {
        if (const auto file = read_file_at(*dir, k_journal_name)) {
          bytes = file->bytes;
        }
      } catch (const Error&) {
        bytes.clear(); // unreadable: nothing to salvage
      }
      // A journal of another format is not damaged: the version that wrote it reads it.
      const auto doc = nlohmann::json::parse(bytes, nullptr, false);
      if (doc.is_object() && doc.contains("format_version") && doc["format_version"].is_number_integer() &&
          doc["format_version"].get<std::int64_t>() != k_journal_format_version) {
        throw;
      }
      report.condition = StatusCondition::damaged;
      report.journal_error = e.what();
      recovery_steps(salvage_journal(bytes), target, report);
      return report;
    }
  }
  // An apply holds the lock before it writes its journal (at its prompt, during the baseline): the
  // journal on disk is then the previous apply's, and its final state is not the host's.
  const auto holder = apply_holding(target, dir);
  if (!journal) {
    report.notes.push_back(
      dir ? "no journal in " + report.state_dir.string() + ": nothing was ever applied here"
          : "no state directory " + report.state_dir.string() + ": nothing was ever applied here");
    if (holder) {
      report.condition = StatusCondition::in_progress;
      report.notes.push_back("an apply is in progress and has not written its journal yet (it is at its "
                             "confirmation prompt or measuring the baseline): " +
                             *holder);
    }
    return report;
  }
  report.has_journal = true;
  report.journal = *journal;
  switch (journal->state) {
    case JournalState::done:
      report.condition = holder ? StatusCondition::in_progress : StatusCondition::done;
      break;
    case JournalState::rolled_back:
      report.condition = holder ? StatusCondition::in_progress : StatusCondition::rolled_back;
      break;
    default:
      report.condition = holder ? StatusCondition::in_progress : StatusCondition::interrupted;
      break;
  }
  if (holder && is_final(journal->state)) {
    report.notes.push_back("an apply is in progress and has not written its journal yet (it is at its "
                           "confirmation prompt or measuring the baseline); what follows is the apply "
                           "before it (" +
                           std::string(to_string(journal->state)) + "): " + *holder);
  }
  if (report.condition == StatusCondition::interrupted) {
    report.notes.push_back("the last apply stopped in state " + std::string(to_string(journal->state)) +
                           "; run `tw-advisor rollback` to restore the previous state");
  }
  const auto ns = current_netns_inode();
  if (journal->netns_inode != 0 && ns != 0 && journal->netns_inode != ns) {
    report.notes.push_back("the last apply ran in network namespace " + std::to_string(journal->netns_inode) +
                           ", this is " + std::to_string(ns) + ": runtime values below are this namespace's");
  }
  if (std::filesystem::path(journal->proc_sys).lexically_normal() != target.proc_sys.lexically_normal()) {
    report.notes.push_back("the journal records its runtime keys under " + printable(journal->proc_sys) +
                           ", not " + target.proc_sys.string() +
                           " (edited, or from elsewhere): rollback refuses it; runtime values below are read "
                           "from " +
                           target.proc_sys.string());
  }
  const bool applied = journal->state == JournalState::done;
  const bool restored = journal->state == JournalState::rolled_back;

  std::vector<std::string> keys;
  std::map<std::string, std::string> persisted;
  for (const auto& file : journal->files) {
    FileStatus fs_status;
    fs_status.path = (std::filesystem::path(file.dir) / file.name).string();
    try {
      const Dir fdir = Dir::open(under_root(root, file.dir));
      const auto current = read_file_at(fdir, file.name);
      fs_status.exists = current.has_value();
      fs_status.matches_applied = current && current->bytes == file.after.bytes;
      fs_status.matches_snapshot = file.before ? (current && current->bytes == file.before->bytes) : !current;
      fs_status.temp_left = exists_at(fdir, file.temp_name);
      if (current) {
        if (const auto settings = parse_generated_settings(current->bytes)) {
          for (const auto& [k, v] : *settings) {
            persisted[k] = v;
          }
        }
      }
    } catch (const Error& e) {
      report.notes.push_back(e.what());
    }
    if (applied && !fs_status.matches_applied) {
      report.drifted = true;
      report.notes.push_back(fs_status.path + " no longer holds what apply wrote");
    }
    if (restored && !fs_status.matches_snapshot) {
      report.drifted = true;
      report.notes.push_back(fs_status.path + " differs from what was there before the apply");
    }
    if (fs_status.temp_left) {
      report.drifted = true;
      report.notes.push_back("temp file " + file.temp_name + " left in " + file.dir +
                             "; run `tw-advisor rollback`");
    }
    report.files.push_back(fs_status);
  }
  for (const auto& c : journal->changes) {
    keys.push_back(c.key);
  }
  std::map<std::string, BootSetting> boot;
  if (boot_lookup) {
    try {
      boot = boot_lookup(root, keys);
    } catch (const Error& e) {
      report.notes.push_back(std::string("boot configuration: ") + e.what());
    }
  } else {
    report.notes.push_back("boot drift not checked: no sysctl.d resolver in this build");
  }
  for (const auto& c : journal->changes) {
    KeyStatus k = key_status(c, target.proc_sys);
    if (const auto it = persisted.find(c.key); it != persisted.end()) {
      k.persisted = it->second;
    }
    if (const auto it = boot.find(c.key); it != boot.end()) {
      k.boot = it->second;
    }
    const std::string& expected = applied ? c.new_value : c.old_value;
    if ((applied || restored) && k.runtime && !same_sysctl_value(*k.runtime, expected)) {
      k.drift.push_back("runtime is \"" + *k.runtime + "\", the journal says \"" + expected + "\"");
    }
    if (applied && journal->persist && (!k.persisted || !same_sysctl_value(*k.persisted, c.new_value))) {
      k.drift.push_back("the generated file does not set it to \"" + c.new_value + "\"");
    }
    if (k.boot && k.runtime && !same_sysctl_value(k.boot->value, *k.runtime)) {
      k.drift.push_back("at boot it would become \"" + k.boot->value + "\" (" + k.boot->origin +
                        "), runtime is \"" + *k.runtime + "\"");
    }
    if (!k.drift.empty()) {
      report.drifted = true;
    }
    report.keys.push_back(std::move(k));
  }
  return report;
}

} // namespace tw
