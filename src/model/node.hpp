#pragma once

#include "model/census.hpp"
#include "model/facts.hpp"
#include "model/netns.hpp"
#include "model/plan.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// The schema_version of the node documents (`plan --all-netns`, `census --all-netns`), doc/netns.md.
inline constexpr int k_node_schema_version = 1;

// One namespace of the node as observed: its facts, or why it was skipped (it vanished, it
// could not be entered).
struct NamespaceFacts
{
  NetnsInfo netns;
  std::optional<Facts> facts;
  std::string skipped; // set when facts is empty
};

// Every network namespace of the node, observed one after another.
struct NodeFacts
{
  std::string hostname;
  std::vector<NamespaceFacts> namespaces; // host first, then by inode
  std::vector<std::string> notes;         // what the listing could not see
};

// One namespace judged.
struct NamespacePlan
{
  NetnsInfo netns;
  std::optional<Facts> facts; // as gathered (the plan document carries them)
  std::optional<Plan> plan;   // absent when skipped
  std::string skipped;

  // The most pressured destination group of its census, or nullptr.
  const DestGroup* top_group() const { return facts ? most_pressured(facts->sockets) : nullptr; }
};

// Every namespace judged, most urgent first: helps, blocked, insufficient evidence, already
// enabled, irrelevant, skipped; within a verdict, the highest pressure first.
struct NodePlan
{
  std::string hostname;
  std::vector<NamespacePlan> namespaces;
  std::vector<std::string> notes;

  // True when the plan of some namespace proposes changes (--detailed-exitcode's 2).
  bool has_changes() const
  {
    return std::any_of(namespaces.begin(), namespaces.end(), [](const NamespacePlan& p) {
      return p.plan && !p.plan->changes.empty();
    });
  }
};

// One namespace's socket census, or why it was skipped.
struct NamespaceCensus
{
  NetnsInfo netns;
  std::optional<SocketCensus> census;
  std::string skipped;
};

// `census --all-netns`: every namespace's census, the most pressured first.
struct NodeCensus
{
  std::string hostname;
  std::vector<NamespaceCensus> namespaces;
  std::vector<std::string> notes;
};

} // namespace tw
