#pragma once

#include "model/node.hpp"

#include <nlohmann/json.hpp>

namespace tw {

// The netns object of the node documents: {inode, cookie, name, kind, container, pod, runtime,
// path, pid, comm}.
nlohmann::ordered_json netns_to_json(const NetnsInfo& ns);

// `plan --all-netns --format json` (doc/netns.md): {schema_version, kind: "node-plan", generator,
// hostname, namespaces: [{netns, plan (the plan document) | skipped}], notes}, most urgent first.
nlohmann::ordered_json node_plan_to_json(const NodePlan& node);

// `census --all-netns --format json`: {schema_version, kind: "node-census", generator, hostname,
// namespaces: [{netns, census (census_to_json's object) | skipped}], notes}.
nlohmann::ordered_json node_census_to_json(const NodeCensus& node);

} // namespace tw
