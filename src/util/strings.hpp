#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// s without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);

// Runs of whitespace folded to one space and the ends trimmed, as /proc/sys values are compared.
std::string normalize_space(std::string_view s);

// s cut at every sep; empty fields kept.
std::vector<std::string_view> split(std::string_view s, char sep);

// s cut at runs of whitespace; no empty fields.
std::vector<std::string_view> split_ws(std::string_view s);

// A whole-string base-10 signed integer, or nullopt (no sign games, no trailing junk).
std::optional<std::int64_t> parse_int(std::string_view s);

// A whole-string base-10 unsigned integer, or nullopt.
std::optional<std::uint64_t> parse_uint(std::string_view s);

// True when s has a byte below 0x20 or 0x7f (newline, tab, escape...).
bool has_control_char(std::string_view s);

// s with control characters shown as \xNN, for quoting untrusted text in messages.
std::string printable(std::string_view s);

// word as one POSIX shell word for a command shown to the operator: as is when it holds only
// characters the shell leaves alone, else in single quotes.
std::string shell_word(std::string_view word);

// Edit distance between two short words (insertions, deletions, substitutions).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to word, when it is at most max_edits away (a typo); nullopt otherwise.
std::optional<std::string> closest_word(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        std::size_t max_edits = 2);

// "1 rule", "2 rules": n and the noun, plural when n is not 1 (`plural` when it is not noun + "s").
std::string counted(std::uint64_t n, std::string_view noun, std::string_view plural = {});

} // namespace tw
