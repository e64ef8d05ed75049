// Undoing an apply from its journal: the runtime keys, then the files, byte for byte; and the
// `rollback` command around it (locks, checks that the journal is this host's and this tree's).
#include "apply/engine.hpp"
#include "apply/runtime_writer.hpp"
#include "apply/target_lock.hpp"
#include "audit/audit.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

namespace tw {

namespace {

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

std::string rollback_temp_name_for(const std::string& name)
{
  return "." + name + ".tw-advisor-rollback";
}

} // namespace

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
    if (written) {
      observer.step("restored " + it->key + " = " + it->old_value);
    } else {
      problems.push_back(written.failure().message);
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
      journal.reason =
        reason + " (rollback incomplete: " + fmt::format("{}", fmt::join(problems, "; ")) + ")";
      save_journal(state_dir, journal);
    }
  } catch (const Error& e) {
    problems.push_back(std::string("journal not updated: ") + e.what());
  }
  return problems;
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
                  "; run rollback in that namespace: `tw-advisor rollback " +
                  apply_netns_options(journal->netns_inode, target) + "`; nothing was changed");
  }
  const std::string reason = journal->state == JournalState::done
                               ? "rolled back on request (" + command + ")"
                               : "finishing an apply interrupted in state " + out.previous_state;
  const auto problems = undo_journal(dir, *journal, root, reason, observer);
  if (!problems.empty()) {
    audit(journal_events(AuditKind::rollback_incomplete,
                         *journal,
                         "the rollback of apply " + journal->id + " is incomplete",
                         fmt::format("{}", fmt::join(problems, "; "))));
    throw Error("rollback of " + journal->id,
                "incomplete: " + fmt::format("{}", fmt::join(problems, "; ")) +
                  "; fix the cause and run it again");
  }
  audit(journal_events(AuditKind::rolled_back, *journal, "rollback of apply " + journal->id, reason));
  out.journal = *journal;
  return out;
}

} // namespace tw
