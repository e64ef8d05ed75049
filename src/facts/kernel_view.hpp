#pragma once

#include "sysctld/check.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
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

// Another machine's kernel, for a check run elsewhere (a CI runner): `sysctl_a` is the text of
// `sysctl -a` on the target ("key = value" lines; its keys and values), `listening` its listening
// TCP ports (nullopt: unknown, said in listening_note). sysctl's own messages mixed in by
// `sysctl -a 2>&1` ("permission denied on key 'K'") make K a key the target has, unread (denied);
// "key =" is an empty value. Throws tw::Error naming source:line for a line that is neither, for
// JSON (a saved plan is not a kernel's keys), and for a key given twice with two values (two
// hosts' output in one file); naming source when it holds no key.
sysctld::KernelView kernel_view_from_sysctl_a(std::string_view sysctl_a,
                                              const std::string& source,
                                              std::optional<std::vector<std::uint16_t>> listening);

} // namespace tw
