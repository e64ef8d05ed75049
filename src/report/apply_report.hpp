#pragma once

#include "apply/journal.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tw {

// What one apply ended with: the outcome automation keys on, and the exit code in every format.
struct ApplyReport
{
  // applied | already-applied | nothing-to-do | not-selected | declined | rolled-back-by-watch | error
  std::string outcome = "error";
  int exit_code = 1;
  std::vector<JournalChange> changes; // with the host's values as read before the apply
  std::string reason;
  std::string journal;               // the journal path this apply uses
  std::vector<std::string> warnings; // what the operator should have read before confirming
};

// `apply --format json` (doc/apply.md): format_version 1, outcome, exit_code, changes, reason,
// journal (null when unknown), warnings.
nlohmann::json apply_report_to_json(const ApplyReport& report);

} // namespace tw
