#include "cli/hints.hpp"

#include "util/strings.hpp"

namespace tw::cli {

std::string rollback_command(const std::string& root, const std::string& state_dir)
{
  std::string out = "tw-advisor rollback";
  if (!root.empty() && root != "/") {
    out += " --root " + shell_word(root);
  }
  if (!state_dir.empty()) {
    out += " --state-dir " + shell_word(state_dir);
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
