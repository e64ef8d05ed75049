#include "report/node_json.hpp"

#include "report/census_json.hpp"
#include "report/document.hpp"
#include "report/plan_json.hpp"

#include <cmath>

namespace tw {

using nlohmann::ordered_json;

ordered_json netns_to_json(const NetnsInfo& ns)
{
  const auto nullable = [](const std::string& s) {
    return s.empty() ? ordered_json(nullptr) : ordered_json(s);
  };
  ordered_json j = ordered_json::object();
  j["inode"] = ns.inode;
  j["cookie"] = ns.cookie != 0 ? ordered_json(ns.cookie) : ordered_json(nullptr); // null: never entered
  j["name"] = ns.name;
  j["kind"] = to_string(ns.kind);
  j["container"] = nullable(ns.container);
  j["pod"] = nullable(ns.pod);
  j["runtime"] = nullable(ns.runtime);
  j["path"] = nullable(ns.path);
  j["pid"] = ns.pid != 0 ? ordered_json(ns.pid) : ordered_json(nullptr);
  j["comm"] = nullable(ns.comm);
  return j;
}

namespace {

// The node document around its entries: each entry is {netns, <what>: document} or
// {netns, skipped}; document(entry) gives the document, or null when the entry was skipped.
template<class Node, class Document>
ordered_json node_document(DocumentKind kind, const Node& node, const char* what, const Document& document)
{
  HostInfo host; // the whole node: no one namespace
  host.hostname = node.hostname;
  ordered_json j = document_header(kind, host);
  ordered_json namespaces = ordered_json::array();
  for (const auto& entry : node.namespaces) {
    ordered_json e = ordered_json::object();
    e["netns"] = netns_to_json(entry.netns);
    if (ordered_json doc = document(entry); !doc.is_null()) {
      e["socket_reader"] = to_string(entry.reader);
      e[what] = std::move(doc);
    } else {
      e["skipped"] = entry.skipped;
    }
    namespaces.push_back(std::move(e));
  }
  j["namespaces"] = std::move(namespaces);
  ordered_json sockets = ordered_json::object(); // "sockets_read": how, not the census itself
  sockets["reader"] = to_string(node.sockets.reader);
  sockets["reason"] = node.sockets.reason.empty() ? ordered_json(nullptr) : ordered_json(node.sockets.reason);
  sockets["walked_sockets"] = node.sockets.walked_sockets;
  sockets["walk_runs"] = node.sockets.walk_runs;
  sockets["walk_ms"] = std::round(node.sockets.walk_ms * 10.0) / 10.0;
  sockets["fell_back"] = node.sockets.fell_back;
  sockets["others"] = node.sockets.others;
  sockets["unlisted_sockets"] = node.sockets.unlisted_sockets;
  j["sockets_read"] = std::move(sockets);
  j["notes"] = node.notes;
  return j;
}

} // namespace

ordered_json node_plan_to_json(const NodePlan& node)
{
  return node_document(DocumentKind::node_plan, node, "plan", [](const NamespacePlan& p) {
    return p.plan && p.facts ? plan_document(*p.plan, *p.facts) : ordered_json(nullptr);
  });
}

ordered_json node_census_to_json(const NodeCensus& node)
{
  return node_document(DocumentKind::node_census, node, "census", [](const NamespaceCensus& c) {
    return c.census ? ordered_json(census_to_json(*c.census)) : ordered_json(nullptr);
  });
}

} // namespace tw
