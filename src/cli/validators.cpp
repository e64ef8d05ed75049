#include "cli/validators.hpp"

#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <sstream>
#include <string>

namespace tw::cli {

namespace {

// The number as a person writes it: 0, 3600, 0.5 (shortest form, no trailing zeros).
std::string shortest(double value)
{
  std::ostringstream out;
  out << value;
  return out.str();
}

} // namespace

CLI::Validator number_range(double low, double high)
{
  const std::string bounds = shortest(low) + " to " + shortest(high);
  return CLI::Validator(
    [low, high, bounds](std::string& input) -> std::string {
      double value = 0.0;
      if (!CLI::detail::lexical_cast(input, value)) {
        return "'" + input + "' is not a number";
      }
      if (!(value >= low && value <= high)) {
        return input + " is not in the range " + bounds;
      }
      return {};
    },
    "NUMBER in " + bounds);
}

CLI::Validator non_empty()
{
  return CLI::Validator(
    [](std::string& input) -> std::string {
      return input.empty() ? "empty value (an unset shell variable?)" : std::string();
    },
    "",
    "NON_EMPTY");
}

std::chrono::seconds duration_arg(const std::string& option,
                                  const std::string& text,
                                  std::chrono::seconds least)
{
  const auto duration = parse_duration(text);
  if (!duration || *duration < least) {
    const std::string from = least.count() == 0 ? "0" : format_duration(least);
    throw Error(option + " " + printable(text),
                "not a duration from " + from + " to 24h: use " + (least.count() == 0 ? "0, " : "") +
                  "90s, 5m, 1m30s or 1h");
  }
  return *duration;
}

void refuse_empty_values(CLI::App& app)
{
  for (CLI::App* sub : app.get_subcommands({})) {
    for (CLI::Option* option : sub->get_options()) {
      if (option->get_type_size_min() > 0) {
        option->check(non_empty());
      }
    }
    refuse_empty_values(*sub);
  }
}

} // namespace tw::cli
