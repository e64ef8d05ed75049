#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

namespace tw::cli {

// A range check for a numeric option whose message prints the bounds as written ("0 to 3600"),
// not as CLI::Range does for doubles ("0.000000 to 3600.000000").
CLI::Validator number_range(double low, double high);

// Refuses an empty value: for a path, a name or a duration it is never meant, and is usually an
// unset shell variable (`--out "$PLAN"`), which must not silently fall back to a default.
CLI::Validator non_empty();

// The DURATION given to option (--watch, --since, --history): "0", "90s", "5m", "1m30s", "1h", at
// least `least` and at most a day. Throws tw::Error naming the option and the value otherwise.
std::chrono::seconds duration_arg(const std::string& option,
                                  const std::string& text,
                                  std::chrono::seconds least);

// Puts non_empty() on every option of every subcommand of app that takes a value.
void refuse_empty_values(CLI::App& app);

} // namespace tw::cli
