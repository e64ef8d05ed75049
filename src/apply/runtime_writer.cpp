#include "apply/runtime_writer.hpp"

#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace tw {

RuntimeWrite write_runtime_key(const std::filesystem::path& proc_sys,
                               const std::string& key,
                               const std::string& value)
{
  RuntimeWrite out;
  const auto path = sysctl_path(proc_sys, key);
  if (!path) {
    out.error = "\"" + printable(key) +
                "\" is not a valid sysctl name (empty part, \"..\", \"/\" or a control character)";
    return out;
  }
  if (has_control_char(value)) {
    out.error = path->string() + ": value \"" + printable(value) + "\" has a control character; not written";
    return out;
  }
  // O_TRUNC is ignored by /proc/sys and needed for the plain files unit tests use.
  const int fd = ::open(path->c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    out.error = path->string() + ": open for writing: " + errno_text(errno);
    return out;
  }
  // One write() call: /proc/sys parses each write on its own.
  const std::string line = value + "\n";
  const ssize_t n = ::write(fd, line.data(), line.size());
  const int write_errno = errno;
  if (n < 0 || static_cast<std::size_t>(n) != line.size()) {
    ::close(fd);
    out.error = path->string() + ": write \"" + value +
                "\": " + (n < 0 ? errno_text(write_errno) : std::string("short write"));
    return out;
  }
  if (::close(fd) != 0) {
    out.error = path->string() + ": close after writing \"" + value + "\": " + errno_text(errno);
    return out;
  }
  const auto back = read_sysctl(proc_sys, key);
  if (back.status != ReadStatus::ok) {
    out.error = path->string() + ": reading back after writing \"" + value + "\": " + back.detail;
    return out;
  }
  out.read_back = back.value;
  if (!same_sysctl_value(back.value, value)) {
    out.error = path->string() + ": wrote \"" + value + "\" but it reads back as \"" + back.value +
                "\" (the kernel clamped or rejected it)";
    return out;
  }
  out.ok = true;
  return out;
}

} // namespace tw
