#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tw {

// The outcome of reading one file: content, or the errno that stopped it.
struct ReadResult
{
  std::optional<std::string> content; // set on success
  int error = 0;                      // errno when content is empty
};

// Reads a whole file (works for /proc files, whose size is reported as 0).
ReadResult read_file(const std::filesystem::path& path);

// Reads a whole file or throws tw::Error naming the path and the errno text.
std::string read_file_or_throw(const std::filesystem::path& path);

// root joined with an absolute path: root_path("/tmp/r", "/etc/x") is "/tmp/r/etc/x".
std::filesystem::path under_root(const std::filesystem::path& root, const std::filesystem::path& absolute);

// Directory holding the running executable (from /proc/self/exe).
std::filesystem::path executable_dir();

} // namespace tw
