#pragma once

#include <chrono>

namespace tw {

// Milliseconds of the steady clock since start: how long a step took, for logs and figures.
inline double ms_since(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Seconds since the epoch, with their fraction: when something happened, for records and metrics.
inline double unix_now()
{
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace tw
