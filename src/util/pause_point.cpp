#include "util/pause_point.hpp"

#include "util/strings.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <thread>

namespace tw {

void pause_point(const char* name)
{
  const char* value = std::getenv(k_pause_env);
  if (value == nullptr) {
    return;
  }
  const std::string_view spec(value);
  const auto colon = spec.rfind(':');
  if (colon == std::string_view::npos || spec.substr(0, colon) != name) {
    return;
  }
  const auto ms = parse_int(spec.substr(colon + 1));
  if (!ms || *ms <= 0) {
    return;
  }
  spdlog::debug("pause point {}: sleeping {} ms", name, *ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(*ms, 60000)));
}

} // namespace tw
