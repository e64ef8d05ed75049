#include "model/boot.hpp"

#include "model/sysctl.hpp"

namespace tw {

Settings merge_settings(const Settings& existing, const Settings& updates)
{
  Settings out = existing;
  for (const auto& [key, value] : updates) {
    bool found = false;
    for (auto& entry : out) {
      if (entry.first == key) {
        entry.second = value;
        found = true;
      }
    }
    if (!found) {
      out.emplace_back(key, value);
    }
  }
  return out;
}

bool TunerClaim::in_container() const
{
  return source.rfind("/proc/", 0) == 0;
}

bool TunerClaim::conflicts_with(std::string_view other) const
{
  return !same_sysctl_value(value, other);
}

} // namespace tw
