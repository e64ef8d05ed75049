#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tw {

// The longest watch window accepted: a day. Longer is almost surely a typo.
inline constexpr std::chrono::seconds k_max_watch{ 24 * 3600 };

// "0", "90", "90s", "5m", "1h" into seconds; nullopt for anything else (negative, junk, over a day).
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// 90 -> "90s", 300 -> "5m", 330 -> "5m30s": how durations are shown back to the operator.
std::string format_duration(std::chrono::seconds duration);

} // namespace tw
