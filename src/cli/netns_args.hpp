#pragma once

#include "model/netns.hpp"
#include "model/node.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace tw::cli {

// Adds `--netns NAME|PATH|PID` to cmd (what it does there: verb, e.g. "judge").
CLI::Option* add_netns_option(CLI::App* cmd, std::string& spec, const std::string& verb);

// Enters the namespace --netns names for the rest of the run, before anything is read, so every
// /proc/sys/net, /proc/net and netlink read (and every write of apply) is that namespace's.
// nullopt when spec is empty (the namespace the tool was started in). Throws tw::Error naming
// spec when it is not one, or when entering it is refused.
std::optional<NetnsInfo> enter_netns_arg(const std::string& spec);

// The state dir for this namespace: --state-dir when given; else, in a namespace that is not the
// host's and with the host's own tree as --root, a directory of its own under the default
// (/var/lib/tw-advisor/netns-INODE), so that an apply in a pod never replaces the host's journal
// and each one's rollback stays possible; else empty (the default).
// entered: what enter_netns_arg returned (nullopt: the namespace is identified here).
std::string state_dir_for_namespace(const std::string& root,
                                    const std::string& state_dir,
                                    const std::optional<NetnsInfo>& entered);

// Adds `--socket-reader auto|bpf-walk|bpf-iter|sock-diag` (only with all_netns): how every namespace's
// sockets are read (doc/netns.md, "Cost").
CLI::Option* add_socket_reader_option(CLI::App* cmd, std::string& reader, CLI::Option* all_netns);

// The reader an accepted --socket-reader value names.
SocketReader socket_reader_from(const std::string& text);

} // namespace tw::cli
