#include "model/severity.hpp"

namespace tw {

const char* to_string(Severity severity)
{
  switch (severity) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::error:
      return "error";
  }
  return "unknown";
}

std::optional<Severity> severity_from_string(std::string_view text)
{
  for (const Severity s : { Severity::info, Severity::warning, Severity::error }) {
    if (text == to_string(s)) {
      return s;
    }
  }
  return std::nullopt;
}

} // namespace tw
