#pragma once

#include <chrono>

namespace tw {

// Milliseconds of the steady clock since start: how long a step took, for logs and figures.
inline double ms_since(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

} // namespace tw
