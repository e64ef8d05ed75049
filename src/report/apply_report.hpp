#pragma once

#include "apply/session.hpp"
#include "state/journal.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// The lines apply prints before it asks: the changes with their reasons, where it persists, the
// watch (or the warning that nothing watches), notes; each wrapped to width columns.
std::vector<std::string> apply_preview_lines(const ApplyPreview& preview, std::size_t width);

// The watch's progress line (no leading \r): elapsed of total seconds, the counters that rose
// most first, and TWRecycled ("reused"), within width - 1 columns so a terminal never wraps it;
// the counters that do not fit are counted ("+2 more").
std::string watch_progress_line(const WatchSample& sample, std::chrono::seconds total, std::size_t width);

// `apply --format json` (doc/apply.md) after the header: outcome, exit_code, changes, reason,
// journal (null when unknown), warnings.
nlohmann::ordered_json apply_report_to_json(const ApplyReport& report);

// What `tw-advisor rollback` did, for --format json.
struct RollbackReport
{
  std::string outcome = "error"; // rolled-back | nothing-to-do | locked | error
  int exit_code = 1;
  std::string message;               // the line the text output ends with, or the error
  std::optional<Journal> apply;      // the apply it undid (or found already undone)
  std::string previous_state;        // that apply's state before the rollback
  std::vector<std::string> warnings; // keys or files changed by someone since the apply
};

// `rollback --format json` (doc/apply.md) after the header: outcome, exit_code, message, apply
// {id, state_before, changes [{key, old, new}]} or null, warnings.
nlohmann::ordered_json rollback_report_to_json(const RollbackReport& report);

} // namespace tw
