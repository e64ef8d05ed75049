#pragma once

#include <cstdint>
#include <string>

namespace tw {

// A share (0..1) as a percentage for people: "100%", "48%", and one decimal below 1% ("0.3%") so a
// small but non-zero share never reads as "0%".
std::string percent(double share);

// part / whole as percent(); "-" when whole is 0.
std::string percent_of(std::uint64_t part, std::uint64_t whole);

// The new connections/s `ports` allow towards one destination when each is held 60 s in TIME_WAIT
// (ports / 60), rounded down: whole from 10/s up ("16"), else to a tenth ("1.6"), so the rate is
// never overstated.
std::string time_wait_rate(std::uint64_t ports);

} // namespace tw
