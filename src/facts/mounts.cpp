#include "facts/mounts.hpp"

#include "util/strings.hpp"

namespace tw {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ and three octal digits.
std::string unescape(std::string_view field)
{
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

} // namespace

std::vector<MountEntry> mounts_of_type(std::string_view mountinfo, std::string_view fstype)
{
  std::vector<MountEntry> out;
  for (const auto line : split(mountinfo, '\n')) {
    // "ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS"
    const auto dash = line.find(" - ");
    if (dash == std::string_view::npos) {
      continue;
    }
    const auto after = split(line.substr(dash + 3), ' ');
    if (after.empty() || after[0] != fstype) {
      continue;
    }
    const auto fields = split(line.substr(0, dash), ' ');
    if (fields.size() < 5) {
      continue;
    }
    out.push_back(MountEntry{ unescape(fields[3]), unescape(fields[4]), std::string(fstype) });
  }
  return out;
}

} // namespace tw
