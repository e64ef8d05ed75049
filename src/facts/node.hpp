#pragma once

#include "facts/gather.hpp"
#include "model/census.hpp"
#include "model/node.hpp"

#include <functional>
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

// The facts of every namespace (`plan --all-netns`): gather_facts inside each, with options (the
// boot configuration only in the host's namespace, as gather_facts decides).
NodeFacts gather_node(const GatherOptions& options);

// The socket census of every namespace (`census --all-netns`), each with its own port range,
// sorted by the pressure of its top destination group, then by TIME_WAIT.
NodeCensus census_node(std::size_t top_n, bool want_timestamps);

} // namespace tw
