#include "util/fs.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace tw {

ReadResult read_file(const std::filesystem::path& path)
{
  ReadResult result;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.error = errno;
    return result;
  }
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
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  result.content = std::move(content);
  return result;
}

std::string read_file_or_throw(const std::filesystem::path& path)
{
  auto result = read_file(path);
  if (!result.content) {
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
