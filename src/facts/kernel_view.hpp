#pragma once

#include "sysctld/check.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace tw {

// Local ports of LISTEN sockets in /proc/net/tcp or /proc/net/tcp6 text, sorted and unique.
std::vector<std::uint16_t> parse_proc_net_tcp_listeners(std::string_view text);

// What `check` needs of the kernel, read below a /proc tree: proc/sys for keys, proc/net/tcp{,6}
// for listeners.
sysctld::KernelView read_kernel_view(const std::filesystem::path& proc);

// The same for the running kernel when proc is /proc, with the listeners from sock_diag (falling
// back to /proc/net/tcp, as ss does, and saying so in listening_note).
sysctld::KernelView read_live_kernel_view(const std::filesystem::path& proc = "/proc");

} // namespace tw
