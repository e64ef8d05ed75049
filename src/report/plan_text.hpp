#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"
#include "model/symptoms.hpp"

#include <string>

namespace tw {

// How the text report is drawn.
struct PlanTextOptions
{
  bool colour = false;                       // ANSI colours (only on a terminal, never with NO_COLOR)
  std::string saved_to;                      // the --out file the JSON plan was written to (empty: not saved)
  const SymptomEvidence* evidence = nullptr; // which evidence the plan used (one line; null: none)
  // The --netns value that reaches the namespace judged, when it is not the host's: the "Next:"
  // commands carry it (and --no-persist on apply). Empty: the namespace the tool runs in.
  std::string netns;
  // What was judged (host name and network namespace), said under the verdict; null: not said
  // (the node plan heads each namespace's plan itself).
  const HostInfo* host = nullptr;
  // Lines are wrapped to this many columns (the terminal's; 80 when not a terminal). A word longer
  // than the room (a path, a key) is never cut.
  std::size_t width = 80;
  // " --root R --state-dir S" the "Next:" commands carry (tw::target_args), so they act on the
  // tree this plan judged; empty for the host's.
  std::string target_args{};
  // apply here changes runtime values only (a namespace that is not the host's, with the host's
  // tree: sysctl.d never reaches it): the "Next:" apply carries --no-persist.
  bool runtime_only = false;
  // " --profile P --sample 5 ..." the "Next:" plan command carries, so the plan saved is the one
  // shown; " --policy P" the apply carries too (its guardrails and watch thresholds).
  std::string plan_args{};
  std::string apply_args{};
};

// The plan as an operator reads it at 3 a.m.: the verdict first, why in two or three lines with
// numbers, the prerequisites, the proposed changes as a table (key, now, proposed, why), the
// findings and the advice.
std::string plan_to_text(const Plan& plan, const PlanTextOptions& options = {});

// True when stdout is a terminal and NO_COLOR is unset (https://no-color.org).
bool colour_wanted_on_stdout();

// The width text output wraps to: the terminal's columns when stdout is one (at least 20), else 80.
std::size_t text_width_of_stdout();

// The same for stderr, where progress lines go.
std::size_t text_width_of_stderr();

} // namespace tw
