#include "util/percent.hpp"

#include <cmath>
#include <cstdio>

namespace tw {

std::string percent(double share)
{
  const double pct = share * 100.0;
  char buf[32];
  if (pct > 0.0 && pct < 1.0) {
    std::snprintf(buf, sizeof(buf), "%.1f%%", pct);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f%%", std::floor(pct + 0.5));
  }
  return buf;
}

std::string percent_of(std::uint64_t part, std::uint64_t whole)
{
  if (whole == 0) {
    return "-";
  }
  return percent(static_cast<double>(part) / static_cast<double>(whole));
}

} // namespace tw
