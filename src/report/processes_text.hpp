#pragma once

#include "model/processes.hpp"

#include <cstddef>
#include <string>

namespace tw {

// Who holds the live connections that matter, as census and plan print it: a heading with how
// the owners were found, then one row per process (pid, comm, connections by state, its busiest
// endpoint), at most max_rows. Says why when no owner was named. Ends with a newline.
std::string processes_to_text(const ProcessAttribution& owners, std::size_t max_rows = 10);

} // namespace tw
