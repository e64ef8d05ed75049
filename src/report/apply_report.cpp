#include "report/apply_report.hpp"

namespace tw {

nlohmann::json apply_report_to_json(const ApplyReport& r)
{
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : r.changes) {
    changes.push_back({ { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } });
  }
  return { { "format_version", 1 },
           { "outcome", r.outcome },
           { "exit_code", r.exit_code },
           { "changes", changes },
           { "reason", r.reason },
           { "journal", r.journal.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.journal) },
           { "warnings", r.warnings } };
}

} // namespace tw
