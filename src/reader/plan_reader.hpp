#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace tw {

// Reads recorded facts back from a plan document's `facts` and `sockets` objects, so a plan can
// be recomputed from a recording (`plan --facts FILE`). Errors name source and the JSON path.
Facts facts_from_json(const nlohmann::json& doc, const std::string& source);

// facts_from_json() of the plan document in the file at path, parsed strictly.
Facts facts_from_json_file(const std::string& path);

// Reads the census object that census_to_json writes, range-checked (ports within 0..65535, a
// group's time_wait within its in_use, negotiated within outbound_established). Per-group
// `timestamps` may be absent (recordings made before it existed): the group then has no sample.
// Errors name source and the JSON path.
SocketCensus census_from_json(const nlohmann::json& sockets, const std::string& source);

// Validates a plan document strictly (schema version, every field's type, sysctl key syntax, no
// control characters in values) and returns the Plan. Errors are tw::Error naming source and the
// JSON path, e.g. "plan.json: /changes/0/target": "expected a string".
Plan plan_from_json(const nlohmann::json& doc, const std::string& source);

// A plan document as apply needs it: the plan, and where it was made (facts.hostname and
// facts.netns; empty and 0 when the document does not say).
struct PlanDocument
{
  Plan plan;
  std::string hostname;
  std::uint64_t netns = 0;
  std::string netns_kind; // facts.netns_kind ("host", "container" ...); empty when not recorded
  std::string netns_name;
};

// Parses text strictly (duplicate members refused), then plan_from_json, then where it was made.
PlanDocument plan_document_from_json_text(const std::string& text, const std::string& source);

// Parses text, then plan_from_json; a syntax error names source:line:column.
Plan plan_from_json_text(const std::string& text, const std::string& source);

} // namespace tw
