#include "util/sysctl_key.hpp"

namespace tw {

bool is_valid_sysctl_key(std::string_view key)
{
  if (key.empty() || key.size() > 255 || key.front() == '.' || key.back() == '.' ||
      key.find("..") != std::string_view::npos) {
    return false;
  }
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

} // namespace tw
