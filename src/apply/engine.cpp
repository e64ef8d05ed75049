#include "apply/engine.hpp"

#include "apply/failpoint.hpp"
#include "apply/runtime_writer.hpp"
#include "apply/sha256.hpp"
#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

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

std::uint64_t current_netns_inode()
{
  struct stat st
  {};
  if (::stat("/proc/self/ns/net", &st) != 0) {
    return 0;
  }
  return static_cast<std::uint64_t>(st.st_ino);
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
  const auto path = resolve_state_dir(m_request.root, m_request.state_dir);
  std::error_code ec;
  if (m_request.changes.empty() && !std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    return; // nothing to do and nothing was ever applied here: no apply to wait for, no journal
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
    if (req.check_current && !same_sysctl_value(now.value, change.current)) {
      drift.push_back(change.key + " is \"" + now.value + "\" but the plan saw \"" + change.current + "\"");
    }
    if (!same_sysctl_value(now.value, change.proposed)) {
      all_at_target = false;
    }
    m_changes.push_back({ change.key, now.value, normalize_space(change.proposed) });
  }
  // The same reviewed plan run again (a config-management loop): every key already holds its
  // target, so there is nothing to do. This is success, not drift.
  if (!req.changes.empty() && all_at_target) {
    m_already_applied = true;
    m_prepared = true;
    return;
  }
  if (!drift.empty()) {
    throw Error("plan " + req.plan_source,
                "the host has changed since the plan was made (" + join(drift, "; ") +
                  "); nothing was changed: make a new plan and review it");
  }
  m_file.reset();
  if (req.persist) {
    const auto dir_path = under_root(req.root, k_sysctld_dir);
    const Dir dir = Dir::open(dir_path);
    if (::faccessat(dir.fd(), ".", W_OK, AT_EACCESS) != 0) {
      throw Error(dir_path.string(),
                  "cannot write here (" + errno_text(errno) +
                    "); nothing was changed. Fix it, or pass --no-persist to change the runtime only");
    }
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
    Settings updates;
    for (const auto& c : m_changes) {
      updates.emplace_back(c.key, c.new_value);
    }
    const auto settings = merge_settings(previous, updates);
    // The header's time and apply id are filled at execute(); the content here is for review.
    file.after.mode = 0644;
    file.after.bytes = render_generated_file(
      { k_version, "(at apply)", req.plan_source, req.plan_sha256, "(at apply)" }, settings);
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
    m_file = std::move(file);
  }
  m_prepared = true;
}

ApplyOutcome Applier::execute(ApplyObserver& observer)
{
  if (!m_prepared || !m_state_dir || m_already_applied) {
    throw Error("apply", "internal: execute() without a prepared change and a state dir");
  }
  const auto& req = m_request;
  ApplyOutcome outcome;

  // Baseline rates for the watch, before anything changes.
  std::map<std::string, double> baseline;
  const auto watch_seconds = req.watch.duration;
  if (watch_seconds.count() > 0) {
    if (!req.watch.read_counters) {
      throw Error("watch", "internal: no counter reader");
    }
    const auto base_window = std::min(req.watch.baseline, watch_seconds);
    if (base_window.count() > 0) {
      observer.step("measuring the baseline of the health counters for " +
                    std::to_string(base_window.count()) + " s");
      const Counters before = req.watch.read_counters();
      if (!before.available) {
        throw Error("health counters", before.error + "; cannot watch, nothing was changed");
      }
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
    Settings updates;
    for (const auto& c : m_changes) {
      updates.emplace_back(c.key, c.new_value);
    }
    file.after.bytes =
      render_generated_file({ k_version, journal.created_at, req.plan_source, req.plan_sha256, journal.id },
                            merge_settings(before ? *before : Settings{}, updates));
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

std::optional<std::string> interrupted_apply_note(const std::filesystem::path& root,
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
    return "an apply (" + journal->id + ") was interrupted in state " +
           std::string(to_string(journal->state)) + " (journal " + dir.name_path(k_journal_name) +
           "): apply refuses until `tw-advisor rollback` runs";
  } catch (const Error&) {
    return std::nullopt; // unreadable: plan is not the place to diagnose the state dir
  }
}

RollbackOutcome rollback_last_apply(const std::filesystem::path& root,
                                    const std::filesystem::path& state_dir,
                                    const std::string& command,
                                    ApplyObserver& observer)
{
  RollbackOutcome out;
  const auto path = resolve_state_dir(root, state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
    return out; // nothing was ever applied here; do not create the directory just to say so
  }
  const Dir dir = open_state_dir(path);
  const StateLock lock(dir, command);
  auto journal = load_journal(dir);
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

StatusReport read_status(const std::filesystem::path& root,
                         const std::filesystem::path& state_dir,
                         const BootLookup& boot_lookup)
{
  StatusReport report;
  report.state_dir = resolve_state_dir(root, state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(report.state_dir, ec))) {
    report.condition = "none";
    report.notes.push_back("no state directory " + report.state_dir.string() +
                           ": nothing was ever applied here");
    return report;
  }
  const Dir dir = open_state_dir(report.state_dir, false); // status only reads
  const auto journal = load_journal(dir);
  if (!journal) {
    report.condition = "none";
    report.notes.push_back("no journal in " + report.state_dir.string() + ": nothing was ever applied here");
    return report;
  }
  report.has_journal = true;
  report.journal = *journal;
  const bool held = state_lock_held(dir);
  switch (journal->state) {
    case JournalState::done:
      report.condition = "done";
      break;
    case JournalState::rolled_back:
      report.condition = "rolled back";
      break;
    default:
      report.condition = held ? "in progress" : "interrupted";
      break;
  }
  if (report.condition == "interrupted") {
    report.notes.push_back("the last apply stopped in state " + std::string(to_string(journal->state)) +
                           "; run `tw-advisor rollback` to restore the previous state");
  }
  const auto ns = current_netns_inode();
  if (journal->netns_inode != 0 && ns != 0 && journal->netns_inode != ns) {
    report.notes.push_back("the last apply ran in network namespace " + std::to_string(journal->netns_inode) +
                           ", this is " + std::to_string(ns) + ": runtime values below are this namespace's");
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
    KeyStatus k;
    k.key = c.key;
    k.old_value = c.old_value;
    k.new_value = c.new_value;
    const auto now = read_sysctl(journal->proc_sys, c.key);
    if (now.status == ReadStatus::ok) {
      k.runtime = now.value;
    } else {
      k.runtime_note = now.detail;
    }
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
