#include "report/cli_walk.hpp"

#include <set>

namespace tw::report {

std::string value_label(const CLI::Option& opt)
{
  std::string type = opt.get_type_name();
  if (!opt.nonpositional() || opt.get_type_size_max() == 0 || opt.get_expected_max() == 0 || type.empty()) {
    return {}; // a positional, or a flag
  }
  std::string checks;
  if (const auto colon = type.find(':'); colon != std::string::npos) {
    checks = type.substr(colon + 1);
    type.resize(colon);
  }
  static const std::set<std::string, std::less<>> generic = { "TEXT",  "INT",    "UINT",
                                                              "FLOAT", "NUMBER", "BOOLEAN" };
  if (generic.count(type) == 0) {
    return type;
  }
  if (!checks.empty() && checks.front() == '{') {
    return checks;
  }
  return "VALUE";
}

} // namespace tw::report
