#include "cli/netns_args.hpp"

#include "facts/netns.hpp"
#include "facts/probe.hpp"

namespace tw::cli {

CLI::Option* add_netns_option(CLI::App* cmd, std::string& spec, const std::string& verb)
{
  return cmd
    ->add_option("--netns",
                 spec,
                 "The network namespace to " + verb +
                   ": an `ip netns` NAME, a PATH to its nsfs file (/proc/PID/ns/net,\n"
                   "/run/docker/netns/ID), or the PID of a process inside it (a container's). Needs root")
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

} // namespace tw::cli
