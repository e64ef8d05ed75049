#include "apply/validate.hpp"

#include "facts/sysctl_reader.hpp"
#include "model/sysctl.hpp"
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
    } else if (const auto refused = kernel_value_problem(change.key, change.proposed);
               refused && !has_control_char(change.proposed)) {
      problems.push_back(change.key + " = \"" + normalize_space(change.proposed) + "\": " + *refused +
                         "; the kernel would refuse it (EINVAL)");
    }
  }
  return problems;
}

std::optional<std::string> verdict_problem(Verdict verdict, std::size_t change_count)
{
  if (verdict != Verdict::helps && change_count != 0) {
    return "the verdict is " + std::string(to_string(verdict)) + " but the plan lists " +
           counted(change_count, "change") +
           "; a plan proposes changes only when the verdict is helps (was it edited by hand?)";
  }
  return std::nullopt;
}

std::optional<std::string> host_mismatch(const std::string& plan_hostname,
                                         std::uint64_t plan_netns,
                                         const std::string& this_hostname,
                                         std::uint64_t this_netns,
                                         const std::string& plan_netns_name)
{
  std::vector<std::string> diffs;
  if (!plan_hostname.empty() && !this_hostname.empty() && plan_hostname != this_hostname) {
    diffs.push_back("the plan was made on host \"" + printable(plan_hostname) + "\", this is \"" +
                    printable(this_hostname) + "\"");
  }
  if (plan_netns != 0 && this_netns != 0 && plan_netns != this_netns) {
    diffs.push_back("the plan was made in network namespace " +
                    (plan_netns_name.empty()
                       ? std::to_string(plan_netns)
                       : printable(plan_netns_name) + " (" + std::to_string(plan_netns) + ")") +
                    ", this is " + std::to_string(this_netns));
  }
  if (diffs.empty()) {
    return std::nullopt;
  }
  std::string out;
  for (const auto& d : diffs) {
    out += (out.empty() ? "" : "; ") + d;
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> foreign_netns_persist(const NetnsInfo& here,
                                                                         std::uint64_t host)
{
  if (host == 0 || here.inode == 0 || here.inode == host) {
    return std::nullopt;
  }
  return std::make_pair(
    "network namespace " + here.name + " (" + std::to_string(here.inode) + ")",
    std::string(
      "is not the host's: /etc/sysctl.d configures the host's namespace at boot, never this one, so "
      "apply will not write it from here. Add --no-persist to change this namespace's runtime values "
      "only, and make them last where the namespace is made (the plan's advice "
      "persist-in-namespace); nothing was changed"));
}

std::optional<std::string> foreign_plan_problem(const std::string& plan_kind,
                                                const std::string& plan_netns_name,
                                                const std::string& plan_source,
                                                const NetnsInfo& here)
{
  if (plan_kind.empty() || plan_kind == "host" || here.kind != NetnsKind::host) {
    return std::nullopt;
  }
  return "was made in network namespace " + plan_netns_name + " (" + plan_kind +
         "), and this is the host's: it judged that namespace's traffic. Apply it there: `tw-advisor apply "
         "--netns NAME|PID --no-persist --plan " +
         plan_source + "`; nothing was changed";
}

} // namespace tw
