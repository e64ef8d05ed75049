#include "facts/host.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace tw {

std::optional<std::uint64_t> namespace_inode(const std::filesystem::path& ns_link, int& errno_out)
{
  struct stat st
  {};
  // stat, not lstat: the link itself is a magic symlink; its target carries the namespace inode.
  if (::stat(ns_link.c_str(), &st) != 0) {
    errno_out = errno;
    return std::nullopt;
  }
  errno_out = 0;
  return static_cast<std::uint64_t>(st.st_ino);
}

std::uint64_t current_netns_inode()
{
  int error = 0;
  return namespace_inode("/proc/self/ns/net", error).value_or(0);
}

std::string current_hostname()
{
  struct utsname uts
  {};
  return ::uname(&uts) == 0 ? std::string(uts.nodename) : std::string();
}

std::string current_command_line()
{
  const auto read = read_file("/proc/self/cmdline");
  if (!read) {
    return "tw-advisor";
  }
  std::string out;
  for (const auto part : split(*read, '\0')) {
    if (!part.empty()) {
      out += (out.empty() ? "" : " ") + printable(part);
    }
  }
  return out;
}

HostInfo read_host_info(const std::filesystem::path& proc_root, std::vector<std::string>& notes)
{
  HostInfo host;
  struct utsname uts
  {};
  if (::uname(&uts) == 0) {
    host.kernel_release = uts.release;
    host.hostname = uts.nodename;
  } else {
    notes.push_back("uname: " + errno_text(errno));
  }
  const std::filesystem::path ns_link = proc_root / "self/ns/net";
  int error = 0;
  if (const auto inode = namespace_inode(ns_link, error)) {
    host.netns_inode = *inode;
  } else {
    notes.push_back(ns_link.string() + ": " + errno_text(error) + " (network namespace unknown)");
  }
  return host;
}

} // namespace tw
