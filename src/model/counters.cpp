#include "model/counters.hpp"

namespace tw {

std::optional<std::uint64_t> Counters::get(const std::string& name) const
{
  const auto it = values.find(name);
  if (it == values.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<double> CounterRates::rate(const std::string& name) const
{
  const auto it = per_second.find(name);
  if (it == per_second.end()) {
    return std::nullopt;
  }
  return it->second;
}

} // namespace tw
