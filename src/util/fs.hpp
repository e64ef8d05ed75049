#pragma once

#include "util/result.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace tw {

// The outcome of reading one file: its content, or the errno that stopped it (failure().error).
using ReadResult = Result<std::string>;

// The most read_file takes from one file: inputs (profiles, policies, plans, sysctl.d files, /proc
// files) are small, and a bound keeps `--profile /dev/zero` from eating memory.
inline constexpr std::size_t k_max_file_bytes = std::size_t{ 4 } << 20; // 4 MiB

// Reads fd from its offset to the end, at most max_bytes (more gives error EFBIG); does not
// close it.
ReadResult read_fd(int fd, std::size_t max_bytes = k_max_file_bytes);

// Reads a whole file (works for /proc files, whose size is reported as 0: the bound is on the bytes
// actually read, not st_size). More than max_bytes gives error EFBIG.
ReadResult read_file(const std::filesystem::path& path, std::size_t max_bytes = k_max_file_bytes);

// Reads a whole user-named input file or throws tw::Error naming the path and the cause: it must be
// a regular file (not a FIFO, a device or a directory) of at most k_max_file_bytes.
std::string read_file_or_throw(const std::filesystem::path& path);

// path made absolute and normal, for a command hint pasted later from another directory; path
// itself when the working directory cannot be read.
std::string absolute_for_hint(const std::string& path);

// root joined with an absolute path: root_path("/tmp/r", "/etc/x") is "/tmp/r/etc/x".
std::filesystem::path under_root(const std::filesystem::path& root, const std::filesystem::path& absolute);

// Directory holding the running executable (from /proc/self/exe).
std::filesystem::path executable_dir();

} // namespace tw
