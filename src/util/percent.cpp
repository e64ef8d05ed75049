#include "util/percent.hpp"

#include <fmt/format.h>

#include <cmath>

namespace tw {

std::string percent(double share)
{
  const double pct = share * 100.0;
  if (pct > 0.0 && pct < 1.0) {
    return fmt::format("{:.1f}%", pct);
  }
  return fmt::format("{:.0f}%", std::floor(pct + 0.5));
}

std::string percent_of(std::uint64_t part, std::uint64_t whole)
{
  if (whole == 0) {
    return "-";
  }
  return percent(static_cast<double>(part) / static_cast<double>(whole));
}

std::string time_wait_rate(std::uint64_t ports)
{
  if (ports >= 600) {
    return std::to_string(ports / 60);
  }
  const std::uint64_t tenths = ports * 10 / 60;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

} // namespace tw
