#pragma once

#include "apply/engine.hpp"
#include "apply/validate.hpp"
#include "model/plan.hpp"
#include "model/policy.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// Whether this host is in the canary cohort, and the record of that decision for the journal.
struct CanaryChoice
{
  bool selected = false;
  std::string reason; // one line with the bucket, the threshold and the percent
  JournalCanary canary;
};

// The canary decision for host_id at percent (the policy's canary.percent when not given): the
// host is selected when its bucket is below the threshold, the same hosts for the same percent.
CanaryChoice choose_canary(const Policy& policy, std::optional<double> percent, const std::string& host_id);

// How long apply watches: --watch when given; else a canary's policy window; else the policy's
// watch.duration_seconds (nullopt when that is 0: no watch).
std::optional<std::chrono::seconds> choose_watch(const Policy& policy,
                                                 std::optional<std::chrono::seconds> given,
                                                 bool canary);

// A plan ready to apply: its changes and what apply must know of where it came from.
struct PlanToApply
{
  std::vector<ProposedChange> changes;
  std::vector<std::string> reasons; // one per change: why
  bool source_nat = false; // source NAT in the path, seen or measured (source-nat, recycled-connects-failed)
  std::string source;      // the plan file's absolute path, or "computed (verdict ...)"
  std::string sha256;      // of the plan file's bytes, or of the computed plan's JSON
  std::string hostname;    // where a reviewed plan was made (empty: unknown)
  std::uint64_t netns = 0; // likewise (0: unknown)
  std::string netns_kind;  // what that namespace was ("host", "container" ...; empty: unknown)
  std::string netns_name;
};

// A reviewed plan file (`plan --out`), read strictly; refused (tw::Error, "nothing was changed")
// when malformed, when its verdict contradicts its changes, or when it was made on another host
// name or network namespace unless accept_other_host: then note() is told why it is applied anyway.
PlanToApply reviewed_plan(const std::filesystem::path& path,
                          bool accept_other_host,
                          const std::function<void(const std::string&)>& note);

// A plan made a moment ago; plan_sha256 is the SHA-256 of its JSON document, for the journal.
PlanToApply computed_plan(const Plan& plan, const std::string& plan_sha256);

// What apply is asked to do besides the plan.
struct RequestOptions
{
  std::filesystem::path root = "/";
  std::filesystem::path state_dir;
  std::filesystem::path proc_sys = "/proc/sys";
  bool persist = true;
  std::optional<JournalCanary> canary;
  std::chrono::seconds watch{ 0 };
  bool probe = true;  // attach the BPF evidence probe for the watch (false: --no-probe)
  bool force = false; // --force: apply even where another tuner's value would win (TuneD)
  std::string command;
  std::string rollback_hint = "tw-advisor rollback";
};

// The whole request for the applier: the plan's changes within the policy's guardrails (keys and
// value ranges, checked here, before anything is touched), the watch and its rules (refused when a
// watch is asked for and the policy has none), the boot-order check and the counter reader.
ApplyRequest make_request(const Policy& policy, const PlanToApply& plan, const RequestOptions& options);

// The warning for a plan that found source NAT and is applied without a watch; nullopt otherwise.
std::optional<std::string> unwatched_nat_warning(const PlanToApply& plan,
                                                 std::chrono::seconds watch,
                                                 bool canary);

// What the boot configuration under root sets for keys, and where (the loader the host boots with).
std::map<std::string, BootSetting> boot_settings(const std::filesystem::path& root,
                                                 const std::vector<std::string>& keys);

} // namespace tw
