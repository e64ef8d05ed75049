#pragma once

#include "sysctld/check.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tw {

// An input problem that makes the check's answer incomplete or impossible: named path and cause.
struct InputError
{
  std::string path;
  std::string cause;
};

// One check run, as the renderers show it.
struct CheckOutcome
{
  const std::vector<sysctld::ProposedFile>& files;
  const std::vector<bool>& assumed; // per file: its destination was inferred (no --dest)
  const sysctld::CheckReport& report;
  bool listening_checked = false; // the listening ports were known
  std::string listening_note;     // how they were read, or why not
  std::string root;
  const std::vector<InputError>& errors;
  int exit_code = 0;
};

// `check` for people: notes, one line per finding (file:line: severity: message [id]), a verdict.
std::string check_to_text(const CheckOutcome& outcome);

// `check --format json` (schema_version 2, doc/check.md).
nlohmann::json check_to_json(const CheckOutcome& outcome);

// The JSON for an input error that stopped the check before any finding (exit 1): every field of
// a full report, so a consumer never meets a missing key.
nlohmann::json check_input_error_json(const std::string& root,
                                      const std::vector<std::string>& files,
                                      bool dest_assumed,
                                      const InputError& error);

} // namespace tw
