#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tw {

// The whole plan document (doc/plan-schema.md), in reading order: schema_version first, then
// verdict, reasons, changes (apply order), prerequisites, findings, advice, profile/policy ids,
// `sockets` (census_to_json's object) and `facts` (sysctls read with status, kernel, netns,
// counters, rates, nat). Every string is valid UTF-8 (invalid bytes, e.g. from a hostname, become
// U+FFFD), so dump() never throws.
nlohmann::ordered_json plan_to_json(const Plan& plan, const Facts& facts);

// The `facts` object of the plan document (everything but the sockets), strings valid UTF-8.
nlohmann::ordered_json facts_to_json(const Facts& facts);

// s with every byte sequence that is not valid UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

} // namespace tw
