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

// status --history: one block per finished apply, newest first, each line within `width` columns
// except an unbreakable token.
std::string history_text(const JournalArchive& archive, std::size_t width)
{
  std::string out = "history: " + counted(archive.journals.size(), "finished apply", "finished applies") +
                    " kept (the last " + std::to_string(k_journals_kept) + "), newest first\n";
  for (const auto& j : archive.journals) {
    out += "  " + j.id + "  " + to_string(j.state) + "\n";
    for (const auto& c : j.changes) {
      out += wrap_text(c.key + " " + c.old_value + " -> " + c.new_value, width, "    ", "      ");
    }
    if (!j.reason.empty()) {
      out += wrap_text("why: " + j.reason, width, "    ", "      ");
    }
    out += wrap_text(
      "plan: " + j.plan_source + " (sha256 " + j.plan_sha256.substr(0, 12) + ")", width, "    ", "      ");
  }
  for (const auto& p : archive.problems) {
    out += wrap_text("not read: " + p, width, "  ", "    ");
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
    { "next", r.next.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.next) },
    // false when the last apply ran in another network namespace: its runtime keys are not here
    { "runtime_judged", r.apply_netns.empty() }
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

std::string status_to_text(const StatusReport& r, std::size_t width)
{
  std::string out;
  // One line of text, wrapped to the width: the first line after `first`, the rest after `rest`.
  const auto put = [&](const std::string& text, std::string_view first = "", std::string_view rest = "  ") {
    out += wrap_text(text, width, first, rest);
  };
  put("state dir: " + r.state_dir.string());
  const bool unsettled = unfinished(r);
  if (r.condition == StatusCondition::damaged) {
    put("last apply: unknown: the journal is damaged (" + r.journal_error + ")");
    put("rollback refuses a damaged journal. What it still tells:", "  ", "    ");
    for (const auto& k : r.keys) {
      put(k.key + ": before " + k.old_value + ", applied " + (k.new_value.empty() ? "?" : k.new_value) +
            ", runtime now " + (k.runtime ? *k.runtime : "unreadable (" + k.runtime_note + ")"),
          "  ",
          "    ");
    }
    put("Restore by hand:");
    for (std::size_t i = 0; i < r.recovery.size(); ++i) {
      put(std::to_string(i + 1) + ". " + r.recovery[i], "  ", "     ");
    }
    for (const auto& n : r.notes) {
      put("note: " + n);
    }
    return out;
  }
  if (!r.has_journal) {
    put("last apply: none");
  } else {
    // The journal's state only where it says more than the condition ("interrupted": persisting).
    const std::string condition = to_string(r.condition);
    const std::string state = to_string(r.journal.state);
    put("last apply: " + r.journal.id + ": " + condition + " (" +
        (state == condition ? std::string() : "journal state " + state + ", ") + "updated " +
        r.journal.updated_at + ")");
    put("plan: " + r.journal.plan_source + " (sha256 " + r.journal.plan_sha256 + ")", "  ", "    ");
    if (!r.journal.reason.empty()) {
      put("reason: " + r.journal.reason, "  ", "    ");
    }
    for (const auto& k : r.keys) {
      std::string line = k.key + ": before " + k.old_value + ", applied " + k.new_value + ", runtime now " +
                         (k.runtime ? *k.runtime : "unreadable (" + k.runtime_note + ")");
      if (unsettled && k.runtime && same_sysctl_value(*k.runtime, k.new_value) &&
          !same_sysctl_value(*k.runtime, k.old_value)) {
        line += " (changed by the unfinished apply; rollback restores " + k.old_value + ")";
      } else if (unsettled && k.runtime && !same_sysctl_value(*k.runtime, k.old_value)) {
        line += " (neither the value before nor the applied one: set by someone else; rollback sets " +
                k.old_value + ")";
      }
      if (k.persisted) {
        line += ", persisted " + *k.persisted;
      }
      if (k.boot) {
        line += ", at boot " + k.boot->value + " (" + k.boot->origin + ")";
      }
      put(line, "  ", "    ");
      for (const auto& d : k.drift) {
        put("drift: " + d, "    ", "      ");
      }
    }
    for (const auto& f : r.files) {
      put("file " + f.path + ": " +
            (f.exists ? (f.matches_applied    ? "as applied"
                         : f.matches_snapshot ? "as before the apply"
                                              : "changed since")
                      : "absent") +
            (f.temp_left ? ", temp file left" : ""),
          "  ",
          "    ");
    }
  }
  if (unsettled) {
    // Drift is measured against a finished apply or rollback; an unfinished one has no settled
    // state to compare with, and "none" would read as "consistent".
    put("drift: not judged against the journal: the last apply is " + std::string(to_string(r.condition)));
  } else {
    put(std::string("drift: ") + (r.drifted ? "yes" : "none") +
        (r.apply_netns.empty() ? ""
                               : " in the files; runtime values not judged (the apply ran in another network "
                                 "namespace)"));
  }
  for (const auto& n : r.notes) {
    put("note: " + n);
  }
  if (!r.next.empty()) {
    put("Next: " + r.next);
  }
  if (r.history) {
    out += "\n" + history_text(*r.history, width);
  }
  return out;
}

} // namespace tw
