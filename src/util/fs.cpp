#include "util/fs.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace {

// Reads fd to the end, at most max_bytes (EFBIG beyond); closes fd.
ReadResult read_fd(int fd, std::size_t max_bytes)
{
  ReadResult result;
  std::string content;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      result.error = errno;
      ::close(fd);
      return result;
    }
    if (n == 0) {
      break;
    }
    if (static_cast<std::size_t>(n) > max_bytes - content.size()) {
      result.error = EFBIG;
      ::close(fd);
      return result;
    }
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  result.content = std::move(content);
  return result;
}

} // namespace

ReadResult read_file(const std::filesystem::path& path, std::size_t max_bytes)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ReadResult result;
    result.error = errno;
    return result;
  }
  return read_fd(fd, max_bytes);
}

std::string read_file_or_throw(const std::filesystem::path& path)
{
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw Error(path.string(), errno_text(errno));
  }
  struct stat st
  {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(path.string(), "fstat: " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path.string(),
                S_ISDIR(st.st_mode) ? "is a directory, not a file"
                                    : "not a regular file (a device, FIFO or socket)");
  }
  auto result = read_fd(fd, k_max_file_bytes);
  if (!result.content) {
    if (result.error == EFBIG) {
      throw Error(path.string(),
                  "larger than " + std::to_string(k_max_file_bytes >> 20) +
                    " MiB, the limit for input files");
    }
    throw Error(path.string(), errno_text(result.error));
  }
  return std::move(*result.content);
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
