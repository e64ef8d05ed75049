#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tw {

// Parses a JSON document that a person or a program may have edited, strictly: a syntax error
// names source:line:column, and a member that appears twice in one object is refused (naming its
// JSON path) instead of letting the last one silently win. Throws tw::Error.
nlohmann::json parse_json_strict(std::string_view text, const std::string& source);

// "L:C", the line and column (1-based) of the byte nlohmann's parse_error::byte names in text.
std::string byte_position(std::string_view text, std::size_t byte);

} // namespace tw
