#include "config/data_dir.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <cstdlib>

#ifndef TW_SOURCE_DATA_DIR
#define TW_SOURCE_DATA_DIR ""
#endif

namespace tw::config {

namespace {

bool has_data(const std::filesystem::path& dir)
{
  std::error_code ec;
  return std::filesystem::is_directory(dir / "profiles", ec) ||
         std::filesystem::is_directory(dir / "policies", ec);
}

} // namespace

std::filesystem::path find_data_dir(const DataDirInputs& inputs)
{
  std::string tried;
  if (inputs.env_dir && !inputs.env_dir->empty()) {
    std::filesystem::path dir = *inputs.env_dir;
    if (has_data(dir)) {
      return dir;
    }
    throw Error("TW_ADVISOR_DATA_DIR=" + dir.string(), "has neither profiles/ nor policies/");
  }
  if (!inputs.exe_dir.empty()) {
    auto installed = (inputs.exe_dir / ".." / "share" / "tw-advisor").lexically_normal();
    if (has_data(installed)) {
      return installed;
    }
    tried += installed.string();
    std::error_code ec;
    const bool build_dir = std::filesystem::exists(inputs.exe_dir / "CMakeCache.txt", ec) ||
                           std::filesystem::exists(inputs.exe_dir / ".." / "CMakeCache.txt", ec);
    if (build_dir && !inputs.source_dir.empty()) {
      if (has_data(inputs.source_dir)) {
        return inputs.source_dir;
      }
      tried += ", " + inputs.source_dir.string() + " (source tree of this build)";
    }
  }
  throw Error("built-in profiles and policies",
              "not found (tried " +
                (tried.empty() ? std::string("nothing: binary location unknown") : tried) +
                "); set TW_ADVISOR_DATA_DIR or pass --profile PATH and --policy PATH");
}

std::filesystem::path default_data_dir()
{
  DataDirInputs inputs;
  if (const char* env = std::getenv("TW_ADVISOR_DATA_DIR")) {
    inputs.env_dir = env;
  }
  inputs.exe_dir = executable_dir();
  inputs.source_dir = TW_SOURCE_DATA_DIR;
  return find_data_dir(inputs);
}

std::vector<std::string> data_names(const std::filesystem::path& data_dir, const std::string& kind)
{
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir / kind, ec)) {
    if (entry.path().extension() == ".yaml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::filesystem::path> installed_doc_dir(const std::filesystem::path& exe_dir)
{
  const auto dir = (exe_dir / ".." / "share" / "doc" / "tw-advisor").lexically_normal();
  std::error_code ec;
  if (exe_dir.empty() || !std::filesystem::is_directory(dir, ec)) {
    return std::nullopt;
  }
  return dir;
}

} // namespace tw::config
