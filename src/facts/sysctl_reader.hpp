#pragma once

#include "model/sysctl.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tw {

// The sysctls the advisor reads by default (dotted names).
const std::vector<std::string>& default_sysctl_keys();

// "net.ipv4.tcp_tw_reuse" -> "<proc_sys>/net/ipv4/tcp_tw_reuse". Keys with ".." or "/" parts
// are refused (nullopt) so a key can never name a path outside proc_sys.
std::optional<std::filesystem::path> sysctl_path(const std::filesystem::path& proc_sys,
                                                 const std::string& key);

// The /proc/sys this process reads and writes: /proc/sys, or the tree named by the test hook
// TW_ADVISOR_PROC_SYS (the CLI tests run apply, rollback and status against a fake tree with it).
std::filesystem::path proc_sys_dir();

// Reads one key below proc_sys (normally /proc/sys). ENOENT is `absent`, EACCES/EPERM `denied`.
SysctlValue read_sysctl(const std::filesystem::path& proc_sys, const std::string& key);

// Reads every key; problems are recorded per key, never thrown.
Sysctls read_sysctls(const std::filesystem::path& proc_sys = "/proc/sys",
                     const std::vector<std::string>& keys = default_sysctl_keys());

} // namespace tw
