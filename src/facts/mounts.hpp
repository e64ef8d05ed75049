#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tw {

// One line of /proc/self/mountinfo (proc(5)).
struct MountEntry
{
  std::string root;        // the directory of the filesystem mounted here ("/": all of it)
  std::string mount_point; // where, as the kernel escapes it decoded (\040 is a space)
  std::string fstype;      // "cgroup2", "nsfs", ...
};

// The mounts in mountinfo text whose filesystem type is fstype, in mount order.
std::vector<MountEntry> mounts_of_type(std::string_view mountinfo, std::string_view fstype);

} // namespace tw
