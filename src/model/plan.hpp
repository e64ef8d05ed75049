#pragma once

#include "model/boot.hpp"
#include "model/severity.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// The answer to "will net.ipv4.tcp_tw_reuse help here?": exactly one of these.
enum class Verdict
{
  helps,                 // outbound TIME_WAIT pressure that the current tw_reuse does not cover
  irrelevant,            // inbound TIME_WAIT, outbound without pressure, or none at all
  already_enabled,       // tw_reuse already covers the pressured traffic
  blocked,               // it would help, but a prerequisite fails and the policy forbids the fix
  insufficient_evidence, // the facts could not be read well enough to judge
};

// "helps", "irrelevant", "already-enabled", "blocked", "insufficient-evidence".
const char* to_string(Verdict verdict);
// The inverse of to_string(Verdict); nullopt for anything else.
std::optional<Verdict> verdict_from_string(std::string_view text);

// How one prerequisite of tw_reuse stands on this host.
enum class PrereqStatus
{
  ok,      // satisfied
  warning, // satisfied with a caveat an operator must read (NAT, low peer agreement)
  error,   // not satisfied: tw_reuse would not work or must not be enabled as things are
};

// "ok", "warning", "error": the severity words (model/severity.hpp) for what is not ok.
const char* to_string(PrereqStatus status);
// The inverse of to_string(PrereqStatus).
std::optional<PrereqStatus> prereq_status_from_string(std::string_view text);

// Named numbers a finding or an advice rests on, e.g. {"time_wait": 1000, "usable_ports": 1000}.
using Evidence = std::map<std::string, double>;

// One prerequisite of tw_reuse (tcp_timestamps, nat, port_range ...) and how it stands.
struct Prerequisite
{
  std::string id;
  PrereqStatus status = PrereqStatus::ok;
  std::string detail; // one line with the numbers

  friend bool operator==(const Prerequisite&, const Prerequisite&) = default;
};

// One proposed sysctl write. Values as /proc/sys shows them, whitespace folded to single spaces.
struct Change
{
  std::string key;     // dotted: net.ipv4.tcp_tw_reuse
  std::string current; // the runtime value when the plan was made (apply refuses on drift)
  std::string target;  // the value to write
  std::string reason;  // one line: why this change

  friend bool operator==(const Change&, const Change&) = default;
};

// Finding::told_in for a finding whose numbers the reasons (Why) already state.
inline constexpr std::string_view k_told_in_reasons = "reasons";

// Something the evidence shows, with a stable id so tools and people can refer to it.
struct Finding
{
  std::string id;
  Severity severity = Severity::info;
  std::string summary;   // one line with the numbers
  Evidence evidence;     // the numbers themselves
  std::string rationale; // why it matters (the kernel behaviour behind it)
  // Where the plan already states these numbers, so the text says them once: "reasons" (Why) or
  // "prerequisites.ID"; empty when the finding is the only place.
  std::string told_in{};

  friend bool operator==(const Finding&, const Finding&) = default;
};

// A recommendation beyond sysctls (the lasting fix is usually the connection model).
struct Advice
{
  std::string id;
  std::string text;
  std::string rationale;
  Evidence evidence;

  friend bool operator==(const Advice&, const Advice&) = default;
};

// The engine's output: the verdict, why, and what to change, in apply order.
// The generated sysctl.d file as apply would leave it (unless --no-persist): its settings now and
// after the plan's changes (merge_settings), so a reviewer or `ansible --diff` sees the file change.
struct PersistPreview
{
  std::string file;      // /etc/sysctl.d/90-tw-advisor.conf, as the host names it (no --root)
  Settings old_settings; // what the file sets now; empty when it does not exist
  Settings new_settings;

  friend bool operator==(const PersistPreview&, const PersistPreview&) = default;
};

struct Plan
{
  Verdict verdict = Verdict::insufficient_evidence;
  std::vector<std::string> reasons; // 2-3 lines with numbers, most important first
  std::vector<Prerequisite> prerequisites;
  std::vector<Change> changes; // in apply order: prerequisite fixes before tcp_tw_reuse
  std::vector<Finding> findings;
  std::vector<Advice> advice;
  std::vector<std::string> missing; // what could not be read (insufficient-evidence names these)
  std::string profile_id;
  std::string policy_id;
  std::optional<PersistPreview> persist; // with changes and the boot facts; absent otherwise

  // The prerequisite with this id, or nullptr.
  const Prerequisite* prerequisite(std::string_view id) const;
  // The finding with this id, or nullptr.
  const Finding* finding(std::string_view id) const;
  // The advice with this id, or nullptr.
  const Advice* advice_for(std::string_view id) const;

  friend bool operator==(const Plan&, const Plan&) = default;
};

} // namespace tw
