#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tw::config {

// Where to look for the built-in profiles/ and policies/, so tests can set each input.
struct DataDirInputs
{
  std::optional<std::string> env_dir; // $TW_ADVISOR_DATA_DIR, when set
  std::filesystem::path exe_dir;      // directory of the running binary
  std::filesystem::path source_dir;   // the source tree (TW_SOURCE_DATA_DIR), for build-dir runs
};

// The data dir: $TW_ADVISOR_DATA_DIR if set; else <exe_dir>/../share/tw-advisor (installed layout);
// else the source tree when the binary runs from a CMake build dir (CMakeCache.txt beside it or one
// level up). Throws tw::Error listing every place tried.
std::filesystem::path find_data_dir(const DataDirInputs& inputs);

// find_data_dir() with this process's environment and location.
std::filesystem::path default_data_dir();

// The names of the profiles or policies (kind: "profiles" or "policies") in data_dir, sorted:
// each KIND/NAME.yaml, what --profile and --policy take. Empty when the directory is unreadable.
std::vector<std::string> data_names(const std::filesystem::path& data_dir, const std::string& kind);

// Where the package installs the documentation the help names: <exe_dir>/../share/doc/tw-advisor
// when that directory exists; nullopt otherwise (a build tree, whose doc/ is in the source).
std::optional<std::filesystem::path> installed_doc_dir(const std::filesystem::path& exe_dir);

} // namespace tw::config
