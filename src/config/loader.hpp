#pragma once

#include "model/policy.hpp"
#include "model/profile.hpp"

#include <filesystem>
#include <string>

namespace tw::config {

// Loads one profile file strictly and resolves its `include:` chain (cycles are errors naming
// the chain). Errors are tw::Error naming file:line:column.
Profile load_profile_file(const std::filesystem::path& file);

// `--profile NAME|PATH`: a NAME ([A-Za-z0-9_-]) is data_dir/profiles/NAME.yaml; anything with a
// '/' or a .yaml/.yml suffix is a path.
Profile load_profile(const std::string& name_or_path, const std::filesystem::path& data_dir);

// The built-in policy: policies/default.yaml as embedded in the binary at build time, so the
// binary needs no data dir for it and its values exist once.
const Policy& builtin_policy();

// Loads one policy file strictly; fields left out keep the built-in defaults.
Policy load_policy_file(const std::filesystem::path& file);

// `--policy PATH`, or data_dir/policies/default.yaml when path is empty.
Policy load_policy(const std::string& path, const std::filesystem::path& data_dir);

// True when text looks like a path rather than a profile name.
bool looks_like_path(const std::string& text);

} // namespace tw::config
