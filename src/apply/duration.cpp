#include "apply/duration.hpp"

#include "util/strings.hpp"

namespace tw {

std::optional<std::chrono::seconds> parse_duration(std::string_view text)
{
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t unit = 1;
  const char last = text.back();
  if (last == 's' || last == 'm' || last == 'h') {
    unit = last == 's' ? 1 : last == 'm' ? 60 : 3600;
    text.remove_suffix(1);
  }
  const auto number = parse_uint(text);
  if (!number) {
    return std::nullopt;
  }
  const auto limit = static_cast<std::uint64_t>(k_max_watch.count());
  if (*number > limit / unit) {
    return std::nullopt;
  }
  return std::chrono::seconds(static_cast<std::int64_t>(*number * unit));
}

std::string format_duration(std::chrono::seconds duration)
{
  const auto total = duration.count();
  if (total == 0) {
    return "0s";
  }
  std::string out;
  const auto hours = total / 3600;
  const auto minutes = total % 3600 / 60;
  const auto seconds = total % 60;
  if (hours > 0) {
    out += std::to_string(hours) + "h";
  }
  if (minutes > 0) {
    out += std::to_string(minutes) + "m";
  }
  if (seconds > 0) {
    out += std::to_string(seconds) + "s";
  }
  return out;
}

} // namespace tw
