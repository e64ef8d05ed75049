#include "apply/runtime_writer.hpp"

#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace tw {

RuntimeWrite write_runtime_key(const std::filesystem::path& proc_sys,
                               const std::string& key,
                               const std::string& value)
{
  const auto path = sysctl_path(proc_sys, key);
  if (!path) {
    return Failure{ 0,
                    "\"" + printable(key) +
                      "\" is not a valid sysctl name (empty part, \"..\", \"/\" or a control character)" };
  }
  if (has_control_char(value)) {
    return Failure{
      0, path->string() + ": value \"" + printable(value) + "\" has a control character; not written"
    };
  }
  // O_TRUNC is ignored by /proc/sys and needed for the plain files unit tests use.
  UniqueFd fd(::open(path->c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    return Failure{ errno, path->string() + ": open for writing: " + errno_text(errno) };
  }
  // One write() call: /proc/sys parses each write on its own.
  const std::string line = value + "\n";
  const ssize_t n = ::write(fd.get(), line.data(), line.size());
  const int write_errno = errno;
  if (n < 0 || static_cast<std::size_t>(n) != line.size()) {
    return Failure{ n < 0 ? write_errno : 0,
                    path->string() + ": write \"" + value +
                      "\": " + (n < 0 ? errno_text(write_errno) : std::string("short write")) };
  }
  if (const int err = fd.close(); err != 0) {
    return Failure{ err, path->string() + ": close after writing \"" + value + "\": " + errno_text(err) };
  }
  const auto back = read_sysctl(proc_sys, key);
  if (back.status != ReadStatus::ok) {
    return Failure{ 0, path->string() + ": reading back after writing \"" + value + "\": " + back.detail };
  }
  if (!same_sysctl_value(back.value, value)) {
    return Failure{ 0,
                    path->string() + ": wrote \"" + value + "\" but it reads back as \"" + back.value +
                      "\" (the kernel clamped or rejected it)" };
  }
  return back.value;
}

} // namespace tw
