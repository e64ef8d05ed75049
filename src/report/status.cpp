#include "report/status.hpp"

#include "model/sysctl.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

namespace tw {

namespace {

// Whether the last apply has not finished (interrupted, or still running): then there is no
// settled state to judge drift against, in the text or the JSON.
bool unfinished(const StatusReport& r)
{
  return r.condition == StatusCondition::interrupted || r.condition == StatusCondition::in_progress;
}

// status --history: one block per finished apply, newest first, each line within 80 columns
// except an unbreakable token.
std::string history_text(const JournalArchive& archive)
{
  std::string out = "history: " + counted(archive.journals.size(), "finished apply", "finished applies") +
                    " kept (the last " + std::to_string(k_journals_kept) + "), newest first\n";
  for (const auto& j : archive.journals) {
    out += "  " + j.id + "  " + to_string(j.state) + "\n";
    for (const auto& c : j.changes) {
      out += "    " + c.key + " " + c.old_value + " -> " + c.new_value + "\n";
    }
    if (!j.reason.empty()) {
      out += wrap_text("rolled back: " + j.reason, 80, "    ", "      ");
    }
    out += wrap_text(
      "plan: " + j.plan_source + " (sha256 " + j.plan_sha256.substr(0, 12) + ")", 80, "    ", "      ");
  }
  for (const auto& p : archive.problems) {
    out += wrap_text("not read: " + p, 80, "  ", "    ");
  }
  return out;
}

} // namespace

nlohmann::json status_to_json(const StatusReport& r)
{
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : r.keys) {
    nlohmann::json boot = nullptr;
    if (k.boot) {
      boot = { { "value", k.boot->value }, { "origin", k.boot->origin } };
    }
    keys.push_back({ { "key", k.key },
                     { "old", k.old_value },
                     { "new", k.new_value },
                     { "runtime", k.runtime ? nlohmann::json(*k.runtime) : nlohmann::json(nullptr) },
                     { "persisted", k.persisted ? nlohmann::json(*k.persisted) : nlohmann::json(nullptr) },
                     { "boot", boot },
                     { "drift", k.drift } });
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : r.files) {
    files.push_back({ { "path", f.path },
                      { "exists", f.exists },
                      { "matches_applied", f.matches_applied },
                      { "matches_snapshot", f.matches_snapshot },
                      { "temp_left", f.temp_left } });
  }
  nlohmann::json apply = nullptr;
  if (r.has_journal) {
    apply = { { "id", r.journal.id },
              { "state", to_string(r.journal.state) },
              { "created_at", r.journal.created_at },
              { "updated_at", r.journal.updated_at },
              { "command", r.journal.command },
              { "plan", { { "source", r.journal.plan_source }, { "sha256", r.journal.plan_sha256 } } },
              { "reason", r.journal.reason } };
  }
  nlohmann::json out = {
    { "state_dir", r.state_dir.string() },
    { "condition", to_string(r.condition) },
    // null while an apply is unfinished: there is no settled state to judge drift against
    { "drifted",
      unfinished(r) || r.condition == StatusCondition::damaged ? nlohmann::json(nullptr)
                                                               : nlohmann::json(r.drifted) },
    { "apply", apply },
    { "keys", keys },
    { "files", files },
    { "notes", r.notes },
    // "damaged": why the journal cannot be read, and how to restore by hand
    { "journal_error", r.journal_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.journal_error) },
    { "recovery", r.recovery },
    { "next", r.next.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.next) }
  };
  if (r.history) { // status --history
    nlohmann::json applies = nlohmann::json::array();
    for (const auto& j : r.history->journals) {
      nlohmann::json changes = nlohmann::json::array();
      for (const auto& c : j.changes) {
        changes.push_back({ { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } });
      }
      applies.push_back({ { "id", j.id },
                          { "state", to_string(j.state) },
                          { "created_at", j.created_at },
                          { "updated_at", j.updated_at },
                          { "command", j.command },
                          { "plan", { { "source", j.plan_source }, { "sha256", j.plan_sha256 } } },
                          { "reason", j.reason },
                          { "changes", std::move(changes) } });
    }
    out["history"] = { { "applies", std::move(applies) }, { "problems", r.history->problems } };
  }
  return out;
}

std::string status_to_text(const StatusReport& r)
{
  std::string out = "state dir: " + r.state_dir.string() + "\n";
  const bool unsettled = unfinished(r);
  if (r.condition == StatusCondition::damaged) {
    out += "last apply: unknown: the journal is damaged (" + r.journal_error + ")\n";
    out += "  rollback refuses a damaged journal. What it still tells:\n";
    for (const auto& k : r.keys) {
      out += "  " + k.key + ": before " + k.old_value + ", applied " +
             (k.new_value.empty() ? "?" : k.new_value) + ", runtime now " +
             (k.runtime ? *k.runtime : "unreadable (" + k.runtime_note + ")") + "\n";
    }
    out += "Restore by hand:\n";
    for (std::size_t i = 0; i < r.recovery.size(); ++i) {
      out += "  " + std::to_string(i + 1) + ". " + r.recovery[i] + "\n";
    }
    for (const auto& n : r.notes) {
      out += "note: " + n + "\n";
    }
    return out;
  }
  if (!r.has_journal) {
    out += "last apply: none\n";
  } else {
    out += "last apply: " + r.journal.id + ": " + to_string(r.condition) + " (journal state " +
           to_string(r.journal.state) + ", updated " + r.journal.updated_at + ")\n";
    out += "  plan: " + r.journal.plan_source + " (sha256 " + r.journal.plan_sha256 + ")\n";
    if (!r.journal.reason.empty()) {
      out += "  reason: " + r.journal.reason + "\n";
    }
    for (const auto& k : r.keys) {
      out += "  " + k.key + ": before " + k.old_value + ", applied " + k.new_value + ", runtime now " +
             (k.runtime ? *k.runtime : "unreadable (" + k.runtime_note + ")");
      if (unsettled && k.runtime && same_sysctl_value(*k.runtime, k.new_value) &&
          !same_sysctl_value(*k.runtime, k.old_value)) {
        out += " (changed by the unfinished apply; rollback restores " + k.old_value + ")";
      } else if (unsettled && k.runtime && !same_sysctl_value(*k.runtime, k.old_value)) {
        out += " (neither the value before nor the applied one: set by someone else; rollback sets " +
               k.old_value + ")";
      }
      if (k.persisted) {
        out += ", persisted " + *k.persisted;
      }
      if (k.boot) {
        out += ", at boot " + k.boot->value + " (" + k.boot->origin + ")";
      }
      out += "\n";
      for (const auto& d : k.drift) {
        out += "    drift: " + d + "\n";
      }
    }
    for (const auto& f : r.files) {
      out += "  file " + f.path + ": " +
             (f.exists ? (f.matches_applied    ? "as applied"
                          : f.matches_snapshot ? "as before the apply"
                                               : "changed since")
                       : "absent") +
             (f.temp_left ? ", temp file left" : "") + "\n";
    }
  }
  if (unsettled) {
    // Drift is measured against a finished apply or rollback; an unfinished one has no settled
    // state to compare with, and "none" would read as "consistent".
    out += "drift: not judged against the journal: the last apply is " + std::string(to_string(r.condition)) +
           "\n";
  } else {
    out += std::string("drift: ") + (r.drifted ? "yes" : "none") + "\n";
  }
  for (const auto& n : r.notes) {
    out += "note: " + n + "\n";
  }
  if (!r.next.empty()) {
    out += "Next: " + r.next + "\n";
  }
  if (r.history) {
    out += "\n" + history_text(*r.history);
  }
  return out;
}

} // namespace tw
