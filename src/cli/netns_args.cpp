#include "cli/netns_args.hpp"

#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/probe.hpp"
#include "state/journal.hpp"
#include "util/fs.hpp"

#include <array>
#include <string>
#include <vector>

namespace tw::cli {

CLI::Option* add_netns_option(CLI::App* cmd, std::string& spec, const std::string& verb)
{
  return cmd
    ->add_option("--netns",
                 spec,
                 "The network namespace to " + verb +
                   ": an `ip netns`\nNAME, the PATH of its nsfs file, or the PID of a\n"
                   "process in it (a container's). Needs root")
    ->type_name("NAME|PATH|PID");
}

std::optional<NetnsInfo> enter_netns_arg(const std::string& spec)
{
  if (spec.empty()) {
    return std::nullopt;
  }
  OpenedNetns ns = open_netns(spec);
  enter_netns_for_good(ns.fd.get(), "--netns " + spec);
  ns.info.cookie = current_netns_cookie();
  return ns.info;
}

std::string state_dir_for_namespace(const std::string& root,
                                    const std::string& state_dir,
                                    const std::optional<NetnsInfo>& entered)
{
  if (!state_dir.empty() || !is_host_tree(root)) {
    return state_dir;
  }
  const auto here = entered ? entered : identify_netns(current_netns_inode());
  if (!here || here->kind == NetnsKind::host) {
    return state_dir;
  }
  return (under_root(root.empty() ? "/" : root, k_default_state_dir) /
          ("netns-" + std::to_string(here->inode)))
    .string();
}

namespace {

constexpr std::array k_socket_readers = { SocketReader::automatic,
                                          SocketReader::bpf_walk,
                                          SocketReader::bpf_iter,
                                          SocketReader::sock_diag };

} // namespace

CLI::Option* add_socket_reader_option(CLI::App* cmd, std::string& reader, CLI::Option* all_netns)
{
  return cmd
    ->add_option("--socket-reader",
                 reader,
                 "With --all-netns: auto (default) reads every namespace's\n"
                 "sockets in one BPF pass, falling back to the BPF TCP\n"
                 "iterator, then sock_diag, in each; bpf-walk, bpf-iter and\n"
                 "sock-diag insist on one (doc/netns.md)")
    ->check(CLI::IsMember([] {
      std::vector<std::string> names;
      names.reserve(k_socket_readers.size());
      for (const SocketReader each : k_socket_readers) {
        names.emplace_back(to_string(each));
      }
      return names;
    }()))
    ->needs(all_netns);
}

SocketReader socket_reader_from(const std::string& text)
{
  for (const SocketReader reader : k_socket_readers) {
    if (text == to_string(reader)) {
      return reader;
    }
  }
  return SocketReader::automatic;
}

} // namespace tw::cli
