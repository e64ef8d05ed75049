#pragma once

#include "facts/gather.hpp"
#include "model/census.hpp"
#include "model/node.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// Throws tw::Error (naming `option`) unless this process may enter other network namespaces
// (setns needs CAP_SYS_ADMIN): checked before any namespace is visited.
void require_netns_switching(const std::string& option);

// Enters each namespace of the node in turn (host first) and calls visit inside it. A namespace
// that vanished or cannot be entered is not visited: skip is called with why. notes receives what
// the listing could not see. Returns to the original namespace after each visit.
void for_each_netns(const std::function<void(NetnsInfo&)>& visit,
                    const std::function<void(const NetnsInfo&, const std::string&)>& skip,
                    std::vector<std::string>& notes);

// How the node's censuses are taken.
struct NodeCensusOptions
{
  std::size_t top_n = 20;      // destination groups kept per namespace
  bool want_timestamps = true; // the timestamp share (tcp_info)
  SocketReader reader = SocketReader::automatic;
};

// One namespace's census as for_each_netns_census took it.
struct NamespaceRead
{
  SocketCensus census;
  SocketReader reader = SocketReader::sock_diag; // how its sockets were read
  std::string note;                              // why the walk did not serve it, when it did not
};

// As for_each_netns over listed (list_netns), with each namespace's socket census taken before
// visit: by one BPF pass over
// the shared established hash for all of them (listeners by sock_diag in each; a self-check of
// each namespace's TIME_WAIT count against /proc/net/sockstat), or, where the walk cannot load,
// fails, does not cover a namespace or fails its check, by sock_diag dumps inside it. read says
// which ran. With reader bpf_walk a walk that cannot run throws tw::Error.
void for_each_netns_census(const NodeCensusOptions& options,
                           std::vector<NetnsInfo>& listed,
                           const std::function<void(NetnsInfo&, NamespaceRead)>& visit,
                           const std::function<void(const NetnsInfo&, const std::string&)>& skip,
                           NodeSocketRead& read);

// The facts of every namespace (`plan --all-netns`): gather_facts inside each, with options (the
// boot configuration only in the host's namespace, as gather_facts decides) and the census
// for_each_netns_census took with reader. With options.sample_seconds, one window for the whole
// node: one probe watching every namespace, each one's counters read as it opens and at the end.
NodeFacts gather_node(const GatherOptions& options, SocketReader reader = SocketReader::automatic);

// The socket census of every namespace (`census --all-netns`), each with its own port range,
// sorted by the pressure of its top destination group, then by TIME_WAIT.
NodeCensus census_node(const NodeCensusOptions& options);

} // namespace tw
