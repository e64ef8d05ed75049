#include "util/fs.hpp"

#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

ReadResult read_fd(int fd, std::size_t max_bytes)
{
  std::string content;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Failure{ errno, {} };
    }
    if (n == 0) {
      break;
    }
    if (static_cast<std::size_t>(n) > max_bytes - content.size()) {
      return Failure{ EFBIG, {} };
    }
    content.append(buf, static_cast<std::size_t>(n));
  }
  return content;
}

ReadResult read_file(const std::filesystem::path& path, std::size_t max_bytes)
{
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return Failure{ errno, {} };
  }
  return read_fd(fd.get(), max_bytes);
}

std::string read_file_or_throw(const std::filesystem::path& path)
{
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    throw Error(path.string(), errno_text(errno));
  }
  struct stat st
  {};
  if (::fstat(fd.get(), &st) != 0) {
    throw Error(path.string(), "fstat: " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(path.string(),
                S_ISDIR(st.st_mode) ? "is a directory, not a file"
                                    : "not a regular file (a device, FIFO or socket)");
  }
  auto result = read_fd(fd.get(), k_max_file_bytes);
  if (!result) {
    if (result.error() == EFBIG) {
      throw Error(path.string(),
                  "larger than " + std::to_string(k_max_file_bytes >> 20) +
                    " MiB, the limit for input files");
    }
    throw Error(path.string(), errno_text(result.error()));
  }
  return std::move(*result);
}

std::string absolute_for_hint(const std::string& path)
{
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::filesystem::path under_root(const std::filesystem::path& root, const std::filesystem::path& absolute)
{
  if (root.empty() || root == "/") {
    return absolute;
  }
  return root / absolute.relative_path();
}

std::filesystem::path executable_dir()
{
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return {};
  }
  return exe.parent_path();
}

} // namespace tw
