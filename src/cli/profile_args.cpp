#include "cli/profile_args.hpp"

#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

namespace tw::cli {

namespace {

// The data dir when one is needed; nullopt (with a warning, once per run: profile and policy both
// ask) when the built-in values can stand in.
std::optional<std::filesystem::path> data_dir_for(bool required)
{
  try {
    return config::default_data_dir();
  } catch (const Error& e) {
    if (required) {
      throw;
    }
    static bool warned = false;
    if (!warned) {
      spdlog::warn("{}; using the built-in profile and policy", e.what());
      warned = true;
    }
    return std::nullopt;
  }
}

// A PATH given to --profile/--policy that is not there: name the option, not only the path.
void require_file(const char* option, const std::string& path, const char* hint)
{
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(std::string(option) + " " + path,
                (ec ? ec.message() : std::string("No such file or directory")) + hint);
  }
}

} // namespace

Profile load_profile_arg(const std::string& arg)
{
  if (!arg.empty() && config::looks_like_path(arg)) {
    require_file(
      "--profile", arg, " (give a shipped profile NAME such as api-client, or a PATH to a YAML file)");
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
    require_file("--policy", arg, "");
    return config::load_policy_file(arg);
  }
  const auto dir = data_dir_for(false);
  if (!dir) {
    return config::builtin_policy();
  }
  return config::load_policy("", *dir);
}

} // namespace tw::cli
