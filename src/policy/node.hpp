#pragma once

#include "model/node.hpp"
#include "model/policy.hpp"
#include "model/profile.hpp"

namespace tw::policy {

// Judges every namespace of the node with the same profile and policy, and orders them by
// urgency (model/node.hpp). Pure, like make_plan.
NodePlan make_node_plan(NodeFacts node, const Profile& profile, const Policy& policy);

// The verdict's place in the urgency order (0 = most urgent).
int urgency(Verdict verdict);

} // namespace tw::policy
