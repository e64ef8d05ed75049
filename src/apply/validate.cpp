#include "apply/validate.hpp"

#include "facts/sysctl_reader.hpp"
#include "util/strings.hpp"

namespace tw {

std::vector<std::string> validate_changes(const std::vector<ProposedChange>& changes,
                                          const std::set<std::string>& allowed_keys)
{
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (const auto& change : changes) {
    const auto shown = "\"" + printable(change.key) + "\"";
    if (!sysctl_path("/proc/sys", change.key)) {
      problems.push_back("key " + shown +
                         " is not a valid sysctl name (empty part, \"..\", \"/\" or a control character)");
      continue;
    }
    if (allowed_keys.count(change.key) == 0) {
      problems.push_back("key " + shown + " is not among the keys the policy allows apply to change");
      continue;
    }
    if (!seen.insert(change.key).second) {
      problems.push_back("key " + shown + " appears twice in the plan");
    }
    for (const auto* value : { &change.proposed, &change.current }) {
      const char* which = value == &change.proposed ? "proposed" : "current";
      if (has_control_char(*value)) {
        problems.push_back(change.key + ": " + which + " value \"" + printable(*value) +
                           "\" has a newline or other control character");
      } else if (value->size() > k_max_value_length) {
        problems.push_back(change.key + ": " + which + " value is " + std::to_string(value->size()) +
                           " bytes long (limit " + std::to_string(k_max_value_length) + ")");
      }
    }
    if (trim(change.proposed).empty()) {
      problems.push_back(change.key + ": proposed value is empty");
    }
  }
  return problems;
}

} // namespace tw
