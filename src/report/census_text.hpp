#pragma once

#include "model/census.hpp"

#include <string>

namespace tw {

// The census as an operator reads it: totals by state, TIME_WAIT by role, the busiest
// destination groups with ports in use / usable and pressure, the timestamp share, notes.
std::string census_to_text(const SocketCensus& census);

} // namespace tw
