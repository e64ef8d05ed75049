#include "cli/profile_args.hpp"

#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>

namespace tw::cli {

namespace {

// The data dir when one is needed; nullopt (with a warning) when the built-in values can stand in.
std::optional<std::filesystem::path> data_dir_for(bool required)
{
  try {
    return config::default_data_dir();
  } catch (const Error& e) {
    if (required) {
      throw;
    }
    spdlog::warn("{}; using the built-in profile and policy", e.what());
    return std::nullopt;
  }
}

} // namespace

Profile load_profile_arg(const std::string& arg)
{
  if (!arg.empty() && config::looks_like_path(arg)) {
    return config::load_profile_file(arg);
  }
  const auto dir = data_dir_for(!arg.empty());
  if (!dir) {
    return Profile{};
  }
  return config::load_profile(arg.empty() ? "default" : arg, *dir);
}

Policy load_policy_arg(const std::string& arg)
{
  if (!arg.empty()) {
    return config::load_policy_file(arg);
  }
  const auto dir = data_dir_for(false);
  if (!dir) {
    return Policy{};
  }
  return config::load_policy("", *dir);
}

} // namespace tw::cli
