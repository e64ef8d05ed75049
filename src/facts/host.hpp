#pragma once

#include "model/facts.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// The inode of a namespace link such as /proc/self/ns/net: it names the network namespace
// (the same number `ip netns identify` and `lsns` show). nullopt with errno_out when unreadable.
std::optional<std::uint64_t> namespace_inode(const std::filesystem::path& ns_link, int& errno_out);

// The inode of the calling process's network namespace (0 when unreadable).
std::uint64_t current_netns_inode();

// This host's name as uname reports it (nodename); empty when uname fails.
std::string current_hostname();

// This process's command line (/proc/self/cmdline), words joined by spaces, control characters
// escaped; "tw-advisor" when unreadable. Recorded in locks and journals.
std::string current_command_line();

// Kernel release (uname), hostname and network namespace inode of the calling process, read
// below proc_root. Problems are returned as findings in `notes`, never thrown.
HostInfo read_host_info(const std::filesystem::path& proc_root, std::vector<std::string>& notes);

} // namespace tw
