#pragma once

#include "policy/analysis.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tw::policy {

// A process the churn is pinned on, with how it was measured and what fixes its client.
struct ProcessRef
{
  std::uint32_t pid = 0;
  std::string comm;
  std::string hint; // "in Python, one requests.Session ...", or "" for an unknown client
  std::string text; // "pid 4242 (api) 310 connects/s to 198.18.0.1:8080"
};

// The processes opening connections towards a group's destination: the probe's connect()
// counts there when it watched a window (exact), else the holders of live connections towards it
// (whoever was caught connecting at census time). At most 3, busiest first.
std::vector<ProcessRef> churning_processes(const Analysis& a, const GroupView& g);

// close-wait-leak, connection-churn, open-close-imbalance, established-growing, orphans-near-limit.
void process_findings(const Analysis& a, std::vector<Finding>& out);

} // namespace tw::policy
