// The Applier: lock the targets, prepare (validate and read the host), execute (journal, write,
// verify, watch, persist), and roll back whatever it changed on any failure.
#include "apply/engine.hpp"
#include "apply/failpoint.hpp"
#include "apply/runtime_writer.hpp"
#include "apply/signals.hpp"
#include "apply/target_lock.hpp"
#include "audit/audit.hpp"
#include "facts/host.hpp"
#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace tw {

namespace {

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

} // namespace

Applier::Applier(ApplyRequest request)
  : m_request(std::move(request))
{
  check_failpoint_env();
  // Everything that can be checked without the state dir is checked first, so a refused apply (a
  // bad plan, no root) leaves nothing behind: no state dir, no lock file.
  const auto problems = validate_changes(m_request.changes, m_request.allowed_keys);
  if (!problems.empty()) {
    throw Error("plan " + m_request.plan_source,
                "refused before any change: " + fmt::format("{}", fmt::join(problems, "; ")));
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
    throw Error("plan " + req.plan_source,
                "refused before any change: " + fmt::format("{}", fmt::join(problems, "; ")));
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
                "the host has changed since the plan was made (" + fmt::format("{}", fmt::join(drift, "; ")) +
                  "); nothing was changed: make a new plan and review it");
  }
  m_file.reset();
  bool persisted = true; // the generated file already sets every key to its target
  Settings previous;     // what the generated file sets now
  if (req.persist) {
    const auto dir_path = under_root(req.root, k_sysctld_dir);
    const Dir dir = Dir::open(dir_path);
    JournalFile file;
    file.dir = k_sysctld_dir;
    file.name = req.file_name;
    file.temp_name = temp_name_for(req.file_name);
    file.before = read_file_at(dir, req.file_name);
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
                    "would not win at boot: " + fmt::format("{}", fmt::join(lines, "; ")) +
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
  if (req.persist && m_state_dir) {
    note_earlier_apply(previous);
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

// A key the runtime holds at its target, which the last apply here changed, while the generated file
// no longer sets it (deleted, say): this apply only persists it again, and its snapshot is the
// value found, so its rollback (or its own undo on a failure) leaves the runtime as it is. The
// journal holds one apply: the value from before the earlier one is said now, while it is known.
// Nothing is carried over: the runtime value may have come back since from somewhere else (a
// reboot, a hand change), which the earlier journal cannot tell.
void Applier::note_earlier_apply(const Settings& in_file)
{
  const auto last = load_journal(*m_state_dir);
  if (!last || last->state != JournalState::done || last->netns_inode != current_netns_inode() ||
      last->proc_sys != m_request.proc_sys.string()) {
    return;
  }
  for (const auto& change : m_changes) {
    const bool in_file_now = std::any_of(
      in_file.begin(), in_file.end(), [&](const auto& setting) { return setting.first == change.key; });
    if (in_file_now || !same_sysctl_value(change.old_value, change.new_value)) {
      continue; // the file's snapshot undoes it, or this apply changes the runtime itself
    }
    const auto earlier = std::find_if(last->changes.begin(),
                                      last->changes.end(),
                                      [&](const JournalChange& c) { return c.key == change.key; });
    if (earlier == last->changes.end() || !same_sysctl_value(earlier->new_value, change.new_value) ||
        same_sysctl_value(earlier->old_value, change.new_value)) {
      continue;
    }
    m_notes.push_back("the last apply (" + last->id + ") changed " + change.key + " from " +
                      earlier->old_value + " to " + change.new_value +
                      "; this one only persists it, so its rollback keeps " + change.new_value +
                      " (to go back to " + earlier->old_value + ", apply a plan that sets it)");
  }
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
  SymptomWatch symptoms; // what the probe measures, when there is one
  SymptomReader probe;   // attached for the baseline and the watch, detached when execute() returns
  bool probed = false;
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
    if (req.watch.attach_symptoms) {
      probe = req.watch.attach_symptoms();
    }
    probed = static_cast<bool>(probe.read);
    const auto base_window = std::min(req.watch.baseline, watch_seconds);
    if (base_window.count() > 0) {
      observer.step("measuring the baseline of the health counters for " +
                    std::to_string(base_window.count()) + " s");
      const auto t0 = std::chrono::steady_clock::now();
      const SymptomCounts symptoms_t0 = probed ? probe.read() : SymptomCounts{};
      if (!sleep_interruptibly(base_window)) {
        throw Error("apply", interrupt_reason() + " before any change; nothing was changed");
      }
      const Counters after = req.watch.read_counters();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (probed && secs > 0.0) {
        const SymptomCounts symptoms_t1 = probe.read();
        symptoms.eaddrnotavail_before_per_second =
          static_cast<double>(symptoms_t1.eaddrnotavail - symptoms_t0.eaddrnotavail) / secs;
        symptoms.eaddrinuse_before_per_second =
          static_cast<double>(symptoms_t1.eaddrinuse - symptoms_t0.eaddrinuse) / secs;
      }
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
      if (!written) {
        throw Error(change.key, written.failure().message);
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
    audit(journal_events(AuditKind::applied, journal, "apply " + journal.id, ""));
    failpoint("after-runtime");

    // Step 3: the watch window.
    if (watch_seconds.count() > 0) {
      advance_journal(*m_state_dir,
                      journal,
                      JournalState::watching,
                      "watching for " + std::to_string(watch_seconds.count()) + " s");
      observer.step("watching the health counters for " + std::to_string(watch_seconds.count()) + " s" +
                    (probed ? ", and connect() and bind() with the BPF probe" : "") +
                    (probe.note.empty() ? "" : "; " + probe.note));
      const Counters start = req.watch.read_counters();
      const SymptomCounts symptoms_start = probed ? probe.read() : SymptomCounts{};
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
        auto sample = evaluate_watch(start, now, elapsed, baseline, req.watch.thresholds);
        if (probed) {
          const SymptomCounts symptoms_now = probe.read();
          symptoms.eaddrnotavail_during_per_second =
            static_cast<double>(symptoms_now.eaddrnotavail - symptoms_start.eaddrnotavail) / elapsed;
          symptoms.eaddrinuse_during_per_second =
            static_cast<double>(symptoms_now.eaddrinuse - symptoms_start.eaddrinuse) / elapsed;
          symptoms.recycled = symptoms_now.recycled - symptoms_start.recycled;
          symptoms.recycled_failed = symptoms_now.recycled_failed - symptoms_start.recycled_failed;
          outcome.measured = symptom_summary(symptoms);
          if (!sample.trip) {
            sample.trip = symptom_trip(symptoms);
          }
          if (!sample.trip && i == watch_seconds.count()) {
            sample.trip = symptom_final(symptoms);
          }
        }
        outcome.reused = sample.reused;
        observer.watch_sample(sample, watch_seconds);
        if (sample.trip) {
          outcome.result = ApplyResult::watch_rolled_back;
          outcome.reason = *sample.trip;
          undo_or_throw(journal, "the watch tripped: " + *sample.trip, observer);
          audit(journal_events(AuditKind::watch_rolled_back,
                               journal,
                               "the watch rolled back apply " + journal.id,
                               *sample.trip));
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
    audit(journal_events(
      AuditKind::apply_failed, journal, "apply " + journal.id + " failed, undone", e.what(), m_keys_written));
    throw Error(e.subject(), e.reason() + "; every change was rolled back");
  } catch (const std::exception& e) {
    undo_or_throw(journal, e.what(), observer);
    audit(journal_events(
      AuditKind::apply_failed, journal, "apply " + journal.id + " failed, undone", e.what(), m_keys_written));
    throw Error("apply", std::string(e.what()) + "; every change was rolled back");
  }
  return outcome;
}

void Applier::undo_or_throw(Journal& journal, const std::string& reason, ApplyObserver& observer)
{
  const auto problems = undo_journal(*m_state_dir, journal, m_request.root, reason, observer, m_keys_written);
  if (!problems.empty()) {
    audit(journal_events(AuditKind::rollback_incomplete,
                         journal,
                         "the rollback of apply " + journal.id + " is incomplete",
                         fmt::format("{}", fmt::join(problems, "; ")),
                         m_keys_written));
    throw Error("apply failed (" + reason + ") and the rollback is incomplete",
                fmt::format("{}", fmt::join(problems, "; ")) + "; fix the cause and run `" +
                  m_request.rollback_hint + "` again");
  }
}

} // namespace tw
