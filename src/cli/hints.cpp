#include "cli/hints.hpp"

#include "util/strings.hpp"

#include <filesystem>
#include <system_error>

namespace tw::cli {

std::string rollback_command(const std::string& root, const std::string& state_dir)
{
  // Absolute paths: the hint is pasted later, often from another directory.
  const auto absolute = [](const std::string& path) {
    std::error_code ec;
    const auto abs = std::filesystem::absolute(path, ec);
    return ec ? path : abs.lexically_normal().string();
  };
  std::string out = "tw-advisor rollback";
  if (!root.empty() && root != "/") {
    out += " --root " + shell_word(absolute(root));
  }
  if (!state_dir.empty()) {
    out += " --state-dir " + shell_word(absolute(state_dir));
  }
  return out;
}

std::string with_rollback_command(std::string note, const std::string& root, const std::string& state_dir)
{
  const std::string plain = "`tw-advisor rollback`";
  if (const auto at = note.find(plain); at != std::string::npos) {
    note.replace(at, plain.size(), "`" + rollback_command(root, state_dir) + "`");
  }
  return note;
}

} // namespace tw::cli
