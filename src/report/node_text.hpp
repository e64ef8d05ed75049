#pragma once

#include "model/node.hpp"
#include "report/plan_text.hpp"

#include <string>

namespace tw {

// `plan --all-netns` for people: one line per namespace (two with the top destination and the
// first reason), most urgent first, then the full plan of every namespace where tcp_tw_reuse
// helps or is blocked. Fits 80 columns (long names are cut with "...").
std::string node_plan_to_text(const NodePlan& node, const PlanTextOptions& options = {});

// `census --all-netns` for people: one line per namespace (TIME_WAIT, outbound, the top group's
// pressure, the name) and the top destination under it, the most pressured first.
std::string node_census_to_text(const NodeCensus& node);

// s cut to at most width characters, ending in "..." when cut.
std::string fit_width(const std::string& s, std::size_t width);

} // namespace tw
