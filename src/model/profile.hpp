#pragma once

#include "model/policy.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// What the host is for: it shapes how the evidence is explained and which advice comes first.
enum class HostIntent
{
  mixed,  // no expectation
  server, // accepts connections (web server): inbound TIME_WAIT is expected
  client, // opens connections (API client, job runner): outbound churn is the business
  proxy,  // both: accepts downstream, connects upstream
};

// "mixed", "server", "client", "proxy".
const char* to_string(HostIntent intent);
// The inverse of to_string(HostIntent).
std::optional<HostIntent> host_intent_from_string(std::string_view text);

// Host intent, as profiles/*.yaml describe it (with `include:` already resolved).
struct Profile
{
  std::string id = "builtin";
  std::string description = "Built-in default profile";
  std::string rationale;
  std::string source; // file it was loaded from, empty for built-in

  Setting<HostIntent> intent{ "intent",
                              HostIntent::mixed,
                              "What the host is for",
                              "Explains which TIME_WAIT is expected." };
  // Overrides the policy's time_wait_pressure threshold for this kind of host, when set.
  std::optional<Setting<double>> time_wait_pressure;
  Setting<bool> container_netns{ "container_netns",
                                 false,
                                 "The host runs containers or pods in their own network namespaces",
                                 "tw_reuse is per namespace: each one must be judged on its own." };
};

} // namespace tw
