#pragma once

#include "model/census.hpp"

#include <nlohmann/json.hpp>

namespace tw {

// The census as one JSON object; `plan` embeds this exact object as `sockets` (doc/census.md).
nlohmann::json census_to_json(const SocketCensus& census);

} // namespace tw
