#pragma once

#include "model/census.hpp"
#include "model/history.hpp"
#include "model/plan.hpp"
#include "policy/analysis.hpp"

#include <string>
#include <vector>

namespace tw::policy {

// The census `plan --since` judges: the live one, with every destination group the monitor's
// history holds at a higher TIME_WAIT share than now replaced by its peak (peak_at_unix set),
// and every group gone since added at its peak. Totals by state stay the live ones. Pure.
SocketCensus census_with_peaks(const SocketCensus& live, const HistoryWindow& history);

// "12:03:41 UTC": a moment of the history as the text shows it (UTC, so the engine stays pure).
std::string time_of_day(double unix_seconds);

// history-peak (a group judged at its remembered peak), history-failures (connect() failures
// the monitor's probe counted in the window) and history-unavailable (--since with no history to
// read, or none of this namespace in the window).
void history_findings(const Analysis& a, std::vector<Finding>& out);

} // namespace tw::policy
