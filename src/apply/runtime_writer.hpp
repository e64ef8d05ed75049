#pragma once

#include "model/sysctl.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <string>

namespace tw {

// The outcome of writing one runtime key: the value read back after writing (whitespace folded),
// or why not (failure().message: path, step and errno text, or the mismatch). A value, so the
// caller decides to roll back with the full picture.
using RuntimeWrite = Result<std::string>;

// Writes value to key below proc_sys (always /proc/sys outside unit tests: the kernel is the kernel,
// --root does not move it), then reads it back and compares with whitespace folded. Keys that
// sysctl_path refuses (".." or "/" parts, control characters) are never opened.
RuntimeWrite write_runtime_key(const std::filesystem::path& proc_sys,
                               const std::string& key,
                               const std::string& value);

} // namespace tw
