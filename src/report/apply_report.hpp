#pragma once

#include "apply/session.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// The lines apply prints before it asks: the changes with their reasons, where it persists, the
// watch (or the warning that nothing watches), notes.
std::vector<std::string> apply_preview_lines(const ApplyPreview& preview);

// `apply --format json` (doc/apply.md): format_version 1, outcome, exit_code, changes, reason,
// journal (null when unknown), warnings.
nlohmann::json apply_report_to_json(const ApplyReport& report);

} // namespace tw
