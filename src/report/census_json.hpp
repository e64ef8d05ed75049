#pragma once

#include "model/census.hpp"
#include "model/symptoms.hpp"

#include <nlohmann/json.hpp>

namespace tw {

// The census as one JSON object; `plan` embeds this exact object as `sockets` (doc/census.md).
nlohmann::json census_to_json(const SocketCensus& census);

// One destination group as the census prints it (also a history peak's counts).
nlohmann::json group_to_json(const DestGroup& group);

// The symptom evidence as one JSON object; census and plan print it as `evidence`
// (doc/plan-schema.md).
nlohmann::json evidence_to_json(const SymptomEvidence& evidence);

} // namespace tw
