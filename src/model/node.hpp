#pragma once

#include "model/census.hpp"
#include "model/facts.hpp"
#include "model/netns.hpp"
#include "model/plan.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// How the sockets of every namespace were read (doc/netns.md, "Cost").
enum class SocketReader
{
  automatic, // the BPF walk where it loads and passes its self-check, else sock_diag
  bpf_walk,  // one BPF pass over the shared established hash, LISTEN sockets by sock_diag
  bpf_iter,  // the kernel's TCP iterator in each namespace, LISTEN sockets by sock_diag
  sock_diag, // one sock_diag dump per namespace (each walks the whole shared table)
};

// "auto", "bpf-walk", "bpf-iter", "sock-diag".
const char* to_string(SocketReader reader);

// What the node's socket reading did, for the output to say which path ran.
struct NodeSocketRead
{
  SocketReader reader = SocketReader::sock_diag; // what read the namespaces (bpf_walk, bpf_iter, sock_diag)
  std::string reason;                            // why not the walk, when it was wanted
  std::uint64_t walked_sockets = 0;              // sockets the walk handed over (every namespace)
  std::uint32_t walk_runs = 0;                   // program runs of the walk (one per 65536 sockets, about)
  double walk_ms = 0.0;                          // loading the walk and running it (0: it did not run)
  std::size_t fell_back = 0;                     // namespaces read another way (their notes say why)
  std::vector<std::string> others;               // each of those: "NAME: why, and how it was read"
  std::uint64_t unlisted_sockets = 0;            // walked sockets of namespaces not listed (born mid-run)
};

// One namespace of the node as observed: its facts, or why it was skipped (it vanished, it
// could not be entered).
struct NamespaceFacts
{
  NetnsInfo netns;
  std::optional<Facts> facts;
  std::string skipped;                           // set when facts is empty
  SocketReader reader = SocketReader::sock_diag; // how its sockets were read
};

// Every network namespace of the node, observed one after another.
struct NodeFacts
{
  std::string hostname;
  std::vector<NamespaceFacts> namespaces; // host first, then by inode
  std::vector<std::string> notes;         // what the listing could not see
  NodeSocketRead sockets;
};

// One namespace judged.
struct NamespacePlan
{
  NetnsInfo netns;
  std::optional<Facts> facts; // as gathered (the plan document carries them)
  std::optional<Plan> plan;   // absent when skipped
  std::string skipped;
  SocketReader reader = SocketReader::sock_diag;

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
  NodeSocketRead sockets;

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
  SocketReader reader = SocketReader::sock_diag;
};

// `census --all-netns`: every namespace's census, the most pressured first.
struct NodeCensus
{
  std::string hostname;
  std::vector<NamespaceCensus> namespaces;
  std::vector<std::string> notes;
  NodeSocketRead sockets;
};

} // namespace tw
