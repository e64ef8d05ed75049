#pragma once

#include "model/netns.hpp"
#include "model/plan.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tw {

// One change apply is asked to make: the value the plan saw and the value it proposes.
struct ProposedChange
{
  std::string key;      // dotted name
  std::string current;  // the value the plan observed (checked against the host with --plan)
  std::string proposed; // the value to write
};

// The longest value accepted: far above any net.* value, small enough to rule out garbage.
inline constexpr std::size_t k_max_value_length = 1024;

// Everything that forbids applying these changes, one message per problem naming the key; empty
// when they may be applied. Checked before any write: a key that sysctl_path refuses (".." or "/"
// parts, control characters), a key outside allowed_keys, a value that is empty, too long, or has
// a newline or other control character (it would inject a line into sysctl.d), a key twice.
std::vector<std::string> validate_changes(const std::vector<ProposedChange>& changes,
                                          const std::set<std::string>& allowed_keys);

// Why a plan file's verdict contradicts its changes (doc/plan-schema.md: changes is empty unless
// the verdict is helps), e.g. a hand-edited verdict; nullopt when they agree.
std::optional<std::string> verdict_problem(Verdict verdict, std::size_t change_count);

// Why a plan made on another host or in another network namespace must not be applied here
// (naming both sides, the plan's namespace by plan_netns_name too when known); nullopt when they
// match or a side is unknown (empty hostname, inode 0).
std::optional<std::string> host_mismatch(const std::string& plan_hostname,
                                         std::uint64_t plan_netns,
                                         const std::string& this_hostname,
                                         std::uint64_t this_netns,
                                         const std::string& plan_netns_name = {});

// Why apply must not persist (write the host's /etc/sysctl.d) from the namespace `here`: it is
// not the host's (host: the host namespace's inode, 0 when unknown). {subject, reason}, or nullopt
// when it is the host's or either inode is unknown. /etc/sysctl.d configures the host's namespace
// at boot and never another one.
std::optional<std::pair<std::string, std::string>> foreign_netns_persist(const NetnsInfo& here,
                                                                         std::uint64_t host);

// Why a plan judged in another kind of namespace (plan_kind: its facts.netns_kind) must not be
// applied here: one made in a pod's or container's namespace, applied in the host's, would
// change the host. nullopt when it may (same kind of place, or the plan does not say).
std::optional<std::string> foreign_plan_problem(const std::string& plan_kind,
                                                const std::string& plan_netns_name,
                                                const std::string& plan_source,
                                                const NetnsInfo& here);

} // namespace tw
