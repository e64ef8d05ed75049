#include "util/duration.hpp"

#include "util/strings.hpp"

namespace tw {

std::optional<std::chrono::seconds> parse_duration(std::string_view text)
{
  if (text.empty()) {
    return std::nullopt;
  }
  const auto limit = static_cast<std::uint64_t>(k_max_watch.count());
  // A bare number is seconds; else one or more NUMBERunit parts, units in the order h, m, s, each
  // at most once: what format_duration writes ("1h30m", "1m30s") reads back.
  if (const auto bare = parse_uint(text)) {
    return *bare <= limit ? std::optional(std::chrono::seconds(static_cast<std::int64_t>(*bare)))
                          : std::nullopt;
  }
  std::uint64_t total = 0;
  std::uint64_t previous_unit = std::uint64_t{ 3600 } * 60; // larger than any unit
  while (!text.empty()) {
    const auto unit_at = text.find_first_of("hms");
    if (unit_at == std::string_view::npos || unit_at == 0) {
      return std::nullopt;
    }
    const std::uint64_t unit = text[unit_at] == 'h' ? 3600 : text[unit_at] == 'm' ? 60 : 1;
    const auto number = parse_uint(text.substr(0, unit_at));
    if (!number || unit >= previous_unit || *number > limit / unit || total + *number * unit > limit) {
      return std::nullopt;
    }
    total += *number * unit;
    previous_unit = unit;
    text.remove_prefix(unit_at + 1);
  }
  return std::chrono::seconds(static_cast<std::int64_t>(total));
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
