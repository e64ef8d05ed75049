#pragma once

#include "facts/counters.hpp"
#include "facts/processes.hpp"
#include "model/processes.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tw {

// Outbound ESTABLISHED connections per destination at one moment.
struct EstablishedCount
{
  bool ok = false;
  std::string error; // the failed step and its errno
  std::unordered_map<SocketWants::Endpoint, std::uint64_t, SocketWants::EndpointHash> by_destination;
};

// Counts them in the calling network namespace: one sock_diag dump of LISTEN sockets (whose ports
// mark accepted connections, left out) and one of ESTABLISHED ones, per family.
EstablishedCount count_established();

// The trend from counts taken at the offsets at_seconds (as many as counts): every destination
// that gained connections between the first and the last count, with its least-squares slope,
// most gained first, at most EstablishedTrend::k_max_destinations. Pure.
EstablishedTrend established_trend(const std::vector<double>& at_seconds,
                                   const std::vector<EstablishedCount>& counts);

// Takes one EstablishedCount: count_established in a real run, a stand-in in tests.
using CountEstablishedFn = std::function<EstablishedCount()>;

// Sleeps through a window of `total` with sleep, counting at its start and at up to 10 evenly
// spaced points after it (at least 0.5 s apart); the time a count takes is taken off the next
// sleep, and at_seconds are the offsets the counts really began at.
EstablishedTrend watch_established(std::chrono::milliseconds total,
                                   const SleepFn& sleep,
                                   const CountEstablishedFn& count = count_established);

} // namespace tw
