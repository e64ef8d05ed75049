#include "model/policy.hpp"

#include "model/profile.hpp"
#include "util/strings.hpp"

namespace tw {

bool Guardrail::allows(std::string_view value) const
{
  const auto fields = split_ws(value);
  if (fields.empty()) {
    return false;
  }
  for (const auto field : fields) {
    const auto n = parse_int(field);
    if (!n || *n < min || *n > max) {
      return false;
    }
  }
  return true;
}

const Guardrail* Policy::guardrail_for(std::string_view key) const
{
  for (const auto& g : guardrails) {
    if (g.key == key) {
      return &g;
    }
  }
  return nullptr;
}

bool Policy::allows(std::string_view key, std::string_view value) const
{
  const Guardrail* g = guardrail_for(key);
  return g != nullptr && g->allows(value);
}

const char* to_string(HostIntent intent)
{
  switch (intent) {
    case HostIntent::mixed:
      return "mixed";
    case HostIntent::server:
      return "server";
    case HostIntent::client:
      return "client";
    case HostIntent::proxy:
      return "proxy";
  }
  return "mixed";
}

std::optional<HostIntent> host_intent_from_string(std::string_view text)
{
  for (const auto intent : { HostIntent::mixed, HostIntent::server, HostIntent::client, HostIntent::proxy }) {
    if (text == to_string(intent)) {
      return intent;
    }
  }
  return std::nullopt;
}

} // namespace tw
