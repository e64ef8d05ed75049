#include "model/document.hpp"

namespace tw {

const char* to_string(DocumentKind kind)
{
  switch (kind) {
    case DocumentKind::plan:
      return "plan";
    case DocumentKind::census:
      return "census";
    case DocumentKind::node_plan:
      return "node-plan";
    case DocumentKind::node_census:
      return "node-census";
    case DocumentKind::check:
      return "check";
    case DocumentKind::apply:
      return "apply";
    case DocumentKind::rollback:
      return "rollback";
    case DocumentKind::status:
      return "status";
    case DocumentKind::error:
      return "error";
  }
  return "unknown";
}

int schema_version(DocumentKind kind)
{
  switch (kind) {
    // 2 for plan: severities info/warning/error, prerequisite status ok/warning/error, old/new;
    // check: "errors" is the input-error array, "error_count" the count; apply and status:
    // schema_version and the header (was format_version 1); node documents: host.hostname (was
    // hostname) and plan 2 inside. doc/json.md keeps the history.
    case DocumentKind::plan:
    case DocumentKind::check:
    case DocumentKind::apply:
    case DocumentKind::status:
    case DocumentKind::node_plan:
    case DocumentKind::node_census:
      return 2;
    case DocumentKind::census:
    case DocumentKind::rollback:
    case DocumentKind::error:
      return 1;
  }
  return 1;
}

} // namespace tw
