#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tw {

// The version of the plan document written by plan_to_json and accepted by plan_from_json.
inline constexpr int k_plan_schema_version = 1;

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

// Reads recorded facts back from a plan document's `facts` and `sockets` objects, so a plan can
// be recomputed from a recording (`plan --facts FILE`). Errors name source and the JSON path.
Facts facts_from_json(const nlohmann::json& doc, const std::string& source);

// Reads the census object that census_to_json writes, range-checked (ports within 0..65535, a
// group's time_wait within its in_use, negotiated within outbound_established). Per-group
// `timestamps` may be absent (recordings made before it existed): the group then has no sample.
// Errors name source and the JSON path.
SocketCensus census_from_json(const nlohmann::json& sockets, const std::string& source);

// Validates a plan document strictly (schema version, every field's type, sysctl key syntax, no
// control characters in values) and returns the Plan. Errors are tw::Error naming source and the
// JSON path, e.g. "plan.json: /changes/0/target": "expected a string".
Plan plan_from_json(const nlohmann::json& doc, const std::string& source);

// Parses text, then plan_from_json; a syntax error names source:line:column.
Plan plan_from_json_text(const std::string& text, const std::string& source);

} // namespace tw
