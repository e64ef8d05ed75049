#pragma once

#include "model/policy.hpp"
#include "model/profile.hpp"

#include <string>

namespace tw::cli {

// --profile NAME|PATH (empty: "default" from the data dir, or the built-in one with a warning
// when no data dir is installed). plan and apply share it so both judge with the same profile.
Profile load_profile_arg(const std::string& arg);

// --policy PATH (empty: the data dir's default policy, or the built-in one with a warning).
Policy load_policy_arg(const std::string& arg);

} // namespace tw::cli
