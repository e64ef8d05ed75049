#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tw {

// The text of a JSON document as every command writes it. Bytes that are not valid UTF-8 (a
// hostname, a process name, a sysctl.d line) become U+FFFD instead of making dump() throw, so
// untrusted strings never cost the output. indent < 0 writes one line (used for digests).
template<class Json>
std::string json_text(const Json& j, int indent = 2)
{
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace tw
