#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"
#include "model/policy.hpp"
#include "model/profile.hpp"

namespace tw {

// The policy engine: decides from the facts whether net.ipv4.tcp_tw_reuse helps, and what to
// change, in what order, and why. Pure: no I/O, no clock, no globals; the same input gives the
// same plan, so tests build Facts in memory.
Plan make_plan(const Facts& facts, const Profile& profile, const Policy& policy);

} // namespace tw
