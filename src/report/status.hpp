#pragma once

#include "apply/engine.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace tw {

// `tw-advisor status --format json` (doc/apply.md): format_version 1, the condition, drift (null
// while an apply is unfinished or the journal is damaged), the apply, keys, files, notes, and for
// a damaged journal its error and the steps to restore by hand.
nlohmann::json status_to_json(const StatusReport& report);

// `tw-advisor status` for people: the last apply, each key's values, the files, drift and notes,
// every line wrapped to `width` columns (an unbreakable token, a path, may pass it).
std::string status_to_text(const StatusReport& report, std::size_t width = 80);

} // namespace tw
