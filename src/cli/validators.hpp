#pragma once

#include <CLI/CLI.hpp>

namespace tw::cli {

// A range check for a numeric option whose message prints the bounds as written ("0 to 3600"),
// not as CLI::Range does for doubles ("0.000000 to 3600.000000").
CLI::Validator number_range(double low, double high);

} // namespace tw::cli
