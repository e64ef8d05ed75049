#pragma once

#include "model/census.hpp"

#include <cstddef>
#include <string>

namespace tw {

// The census as an operator reads it: totals by state, TIME_WAIT by role, the busiest
// destination groups with ports in use / usable and pressure, the timestamp share, notes. Prose
// wraps to width columns (80 when stdout is not a terminal); table rows stay whole.
std::string census_to_text(const SocketCensus& census, std::size_t width = 80);

} // namespace tw
