#pragma once

#include <optional>
#include <string_view>

namespace tw {

// How much something the tool reports matters: one vocabulary for plan findings, prerequisites
// (whose status is "ok" or one of these) and check's problems, in text and JSON alike
// (doc/json.md, schema/common.schema.json).
enum class Severity
{
  info,    // context: nothing to do
  warning, // worth acting on or double-checking
  error,   // makes tw_reuse useless or unsafe as things are; check: do not install the file
};

// "info", "warning", "error".
const char* to_string(Severity severity);
// The inverse of to_string(Severity); nullopt for anything else.
std::optional<Severity> severity_from_string(std::string_view text);

} // namespace tw
