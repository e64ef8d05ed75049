// `status`: where the last apply stands, drift since, an apply in progress, and for a damaged
// journal what can still be read and how to restore by hand. Reads only, takes no lock.
#include "apply/engine.hpp"
#include "apply/target_lock.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tw {

const char* to_string(StatusCondition condition)
{
  switch (condition) {
    case StatusCondition::none:
      return "none";
    case StatusCondition::done:
      return "done";
    case StatusCondition::rolled_back:
      return "rolled-back";
    case StatusCondition::interrupted:
      return "interrupted";
    case StatusCondition::in_progress:
      return "in-progress";
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

namespace {

// The line status ends with, as plan's "Next:": what the operator runs now.
std::string next_step(const StatusReport& r)
{
  // The apply's namespace is another one: rollback refuses here, and only there is drift judged.
  if (!r.apply_netns.empty()) {
    if (r.condition == StatusCondition::interrupted) {
      return "in the namespace the apply ran in, `tw-advisor rollback " + r.apply_netns +
             "` restores the values from before apply " + r.journal.id;
    }
    return r.condition == StatusCondition::done || r.drifted
             ? "`tw-advisor status " + r.apply_netns + "` judges the runtime values where apply " +
                 r.journal.id + " wrote them"
             : std::string();
  }
  if (r.condition == StatusCondition::interrupted) {
    return "run `tw-advisor rollback` to restore the values from before apply " + r.journal.id +
           ", then `tw-advisor plan` again";
  }
  if (!r.drifted || r.condition == StatusCondition::in_progress) {
    return {};
  }
  if (r.condition == StatusCondition::rolled_back) {
    return "`tw-advisor plan` shows what this host needs now (it changed since the rollback)";
  }
  return "`tw-advisor plan` shows what this host needs now; `tw-advisor rollback` restores the values "
         "from before apply " +
         r.journal.id;
}

} // namespace

std::string target_args(const std::string& root, const std::string& state_dir)
{
  // Absolute paths: the hint is pasted later, often from another directory.
  std::string out;
  if (!root.empty() && root != "/") {
    out += " --root " + shell_word(absolute_for_hint(root));
  }
  if (!state_dir.empty()) {
    out += " --state-dir " + shell_word(absolute_for_hint(state_dir));
  }
  return out;
}

std::string apply_netns_options(std::uint64_t netns_inode, const Target& target)
{
  // The state dir resolved, always: under --netns the default is that namespace's own.
  const auto spec = netns_spec_of(netns_inode);
  return "--netns " + (spec ? shell_word(*spec) : std::string("NAME|PID")) +
         target_args(target.root.string(), resolve_state_dir(target.root, target.state_dir).string());
}

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
  // The runtime keys of another namespace are not the ones the apply wrote: reading them here and
  // calling the difference drift would send an operator to a rollback that refuses here.
  const auto ns = current_netns_inode();
  const bool elsewhere = journal->netns_inode != 0 && ns != 0 && journal->netns_inode != ns;
  if (elsewhere) {
    report.apply_netns = apply_netns_options(journal->netns_inode, target);
  }
  if (report.condition == StatusCondition::interrupted) {
    report.notes.push_back(
      "the last apply stopped in state " + std::string(to_string(journal->state)) + "; run `" +
      (elsewhere ? "tw-advisor rollback " + report.apply_netns : std::string("tw-advisor rollback")) +
      "` to restore the previous state");
  }
  if (elsewhere) {
    report.notes.push_back("the last apply ran in network namespace " + std::to_string(journal->netns_inode) +
                           ", this is " + std::to_string(ns) +
                           ": the runtime values above are this namespace's and are not judged against the "
                           "journal");
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
      // Rollback removes it where Next: gives that rollback (an interrupted apply in this
      // namespace); a finished or undone apply leaves it to be removed by hand.
      const bool rollback_next = report.condition == StatusCondition::interrupted && !elsewhere;
      report.notes.push_back("temp file " + file.temp_name + " left in " + file.dir +
                             (rollback_next ? ": the rollback under Next: removes it"
                                            : ": no apply is left to remove it; remove it by hand"));
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
    if (!elsewhere && (applied || restored) && k.runtime && !same_sysctl_value(*k.runtime, expected)) {
      k.drift.push_back("runtime is \"" + *k.runtime + "\", the journal says \"" + expected + "\"");
    }
    if (applied && journal->persist && (!k.persisted || !same_sysctl_value(*k.persisted, c.new_value))) {
      k.drift.push_back("the generated file does not set it to \"" + c.new_value + "\"");
    }
    if (!elsewhere && k.boot && k.runtime && !same_sysctl_value(k.boot->value, *k.runtime)) {
      k.drift.push_back("at boot it would become \"" + k.boot->value + "\" (" + k.boot->origin +
                        "), runtime is \"" + *k.runtime + "\"");
    }
    if (!k.drift.empty()) {
      report.drifted = true;
    }
    report.keys.push_back(std::move(k));
  }
  report.next = next_step(report);
  return report;
}

} // namespace tw
