#include "policy/node.hpp"

#include "policy/engine.hpp"

#include <algorithm>

namespace tw::policy {

int urgency(Verdict verdict)
{
  switch (verdict) {
    case Verdict::helps:
      return 0;
    case Verdict::blocked:
      return 1;
    case Verdict::insufficient_evidence:
      return 2;
    case Verdict::already_enabled:
      return 3;
    case Verdict::irrelevant:
      return 4;
  }
  return 4;
}

NodePlan make_node_plan(NodeFacts node, const Profile& profile, const Policy& policy)
{
  NodePlan out;
  out.hostname = std::move(node.hostname);
  out.notes = std::move(node.notes);
  out.sockets = node.sockets;
  for (auto& ns : node.namespaces) {
    NamespacePlan p;
    p.netns = std::move(ns.netns);
    p.skipped = std::move(ns.skipped);
    p.reader = ns.reader;
    if (ns.facts) {
      p.facts = std::move(ns.facts);
      p.plan = make_plan(*p.facts, profile, policy);
    }
    out.namespaces.push_back(std::move(p));
  }
  std::stable_sort(
    out.namespaces.begin(), out.namespaces.end(), [](const NamespacePlan& a, const NamespacePlan& b) {
      const int ua = a.plan ? urgency(a.plan->verdict) : 5;
      const int ub = b.plan ? urgency(b.plan->verdict) : 5;
      if (ua != ub) {
        return ua < ub;
      }
      const double pa = a.top_group() != nullptr ? a.top_group()->pressure : 0.0;
      const double pb = b.top_group() != nullptr ? b.top_group()->pressure : 0.0;
      return pa > pb;
    });
  return out;
}

} // namespace tw::policy
