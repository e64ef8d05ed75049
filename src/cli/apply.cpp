// `tw-advisor apply`, `rollback`, `status`: the only commands that change the host. Every step is
// journaled and durable before the next, so no failure or kill leaves a host half-changed
// (doc/apply.md describes the journal, the states, the failpoints and the canary hashing).
#include "apply/canary.hpp"
#include "apply/duration.hpp"
#include "apply/engine.hpp"
#include "apply/runtime_writer.hpp"
#include "apply/sha256.hpp"
#include "cli/commands.hpp"
#include "cli/hints.hpp"
#include "cli/profile_args.hpp"
#include "cli/validators.hpp"
#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "facts/counters.hpp"
#include "facts/gather.hpp"
#include "facts/host.hpp"
#include "facts/sysctl_reader.hpp"
#include "policy/engine.hpp"
#include "report/plan_json.hpp"
#include "sysctld/resolver.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>

namespace tw::cli {

namespace {

constexpr int k_exit_watch_rolled_back = 3;
constexpr int k_exit_status_attention = 2; // status --detailed-exitcode: interrupted or drifted

// --format json: steps go to stderr so stdout holds exactly one JSON object.
bool g_json_stdout = false;

struct ApplyArgs
{
  std::string plan_file;
  bool yes = false;
  bool canary = false;
  std::optional<double> canary_percent;
  std::string host_id;
  std::string watch;
  bool no_persist = false;
  std::string root = "/";
  std::string state_dir;
  std::string profile;
  std::string policy;
  std::string format = "text";
  bool ignore_host_mismatch = false;
  bool host_id_given = false; // --host-id was on the command line (an empty value is an error)
};

struct RollbackArgs
{
  std::string root = "/";
  std::string state_dir;
};

struct StatusArgs
{
  std::string format = "text";
  bool detailed_exitcode = false;
  std::string root = "/";
  std::string state_dir;
};

// The command line of this process, for the lock file and the journal.
std::string own_command_line()
{
  const auto read = read_file("/proc/self/cmdline");
  if (!read.content) {
    return "tw-advisor";
  }
  std::string out;
  for (const auto part : split(*read.content, '\0')) {
    if (!part.empty()) {
      out += (out.empty() ? "" : " ") + printable(part);
    }
  }
  return out;
}

void say(const std::string& line)
{
  std::FILE* out = g_json_stdout ? stderr : stdout;
  std::fputs((line + "\n").c_str(), out);
  std::fflush(out);
}

// "50", "12.5", "0.25": a percentage as a person writes it (at most two decimals, no trailing zeros).
std::string format_percent(double percent)
{
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", std::round(percent * 100.0) / 100.0);
  std::string out = buf;
  while (out.find('.') != std::string::npos && (out.back() == '0' || out.back() == '.')) {
    out.pop_back();
  }
  return out;
}

// Prints steps on stdout (one line each, flushed: other programs follow them) and the watch as a
// progress line on stderr when it is a terminal.
class PrintObserver : public ApplyObserver
{
public:
  void step(const std::string& message) override
  {
    end_progress();
    say("  " + message);
  }
  void watch_sample(const WatchSample& sample, std::chrono::seconds total) override
  {
    if (::isatty(STDERR_FILENO) == 0) {
      return;
    }
    std::string line = "\r  watching " + std::to_string(static_cast<long long>(sample.elapsed_seconds)) +
                       "/" + std::to_string(total.count()) + " s";
    for (const auto& [counter, rise] : sample.rise) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "  %s %+.2f/s", counter.c_str(), rise);
      line += buf;
    }
    line += "  reused " + std::to_string(sample.reused) + "\x1b[K";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    m_progress = true;
  }
  void end_progress()
  {
    if (m_progress) {
      std::fputs("\n", stderr);
      m_progress = false;
    }
  }

private:
  bool m_progress = false;
};

// The changes of a reviewed plan file (`plan --out`), read strictly by the plan reader.
struct ReviewedPlan
{
  std::vector<ProposedChange> changes;
  std::vector<std::string> reasons;
  std::string sha256;
  Verdict verdict = Verdict::insufficient_evidence;
  std::string hostname;    // facts.hostname
  std::uint64_t netns = 0; // facts.netns
  bool source_nat = false; // the plan found source NAT in the path (finding source-nat)
};

ReviewedPlan read_plan_file(const std::string& path)
{
  const std::string bytes = read_file_or_throw(path);
  ReviewedPlan out;
  out.sha256 = sha256_hex(bytes);
  try {
    const Plan plan = plan_from_json_text(bytes, path);
    out.verdict = plan.verdict;
    out.source_nat = plan.finding("source-nat") != nullptr;
    for (const auto& c : plan.changes) {
      out.changes.push_back({ c.key, c.current, c.target });
      out.reasons.push_back(c.reason);
    }
  } catch (const Error& e) {
    throw Error(e.subject(), e.reason() + "; nothing was changed");
  }
  if (const auto problem = verdict_problem(out.verdict, out.changes.size())) {
    throw Error("plan " + path, *problem + "; nothing was changed");
  }
  // Where the plan was made (the reader checked the document; these are read leniently).
  const auto doc = nlohmann::json::parse(bytes, nullptr, false);
  if (doc.is_object() && doc.contains("facts") && doc["facts"].is_object()) {
    const auto& facts = doc["facts"];
    if (facts.contains("hostname") && facts["hostname"].is_string()) {
      out.hostname = facts["hostname"].get<std::string>();
    }
    if (facts.contains("netns") && facts["netns"].is_number_unsigned()) {
      out.netns = facts["netns"].get<std::uint64_t>();
    }
  }
  return out;
}

// The resolver's answer to "does a file named name in /etc/sysctl.d win at boot for these keys?"
std::map<std::string, std::string> overrides_at_boot(const std::filesystem::path& root,
                                                     const std::string& name,
                                                     const Settings& settings)
{
  return sysctld::overrides_at_boot(root, std::filesystem::path(k_sysctld_dir) / name, settings);
}

std::map<std::string, BootSetting> boot_settings(const std::filesystem::path& root,
                                                 const std::vector<std::string>& keys)
{
  const auto resolution = sysctld::resolve(root, sysctld::boot_loader(root));
  std::map<std::string, BootSetting> out;
  for (const auto& key : keys) {
    const auto outcome = resolution.outcome(key);
    if (outcome.winner && outcome.winner->value) {
      out[key] = { *outcome.winner->value,
                   outcome.winner->file + ":" + std::to_string(outcome.winner->line) };
    }
  }
  return out;
}

bool confirm(const std::string& question)
{
  std::FILE* out = g_json_stdout ? stderr : stdout; // stdout stays pure JSON with --format json
  std::fputs((question + " [y/N] ").c_str(), out);
  std::fflush(out);
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    return false;
  }
  const auto a = trim(answer);
  return a == "y" || a == "Y" || a == "yes";
}

// What one apply ended with, for --format json (and the exit code in every format).
struct ApplyReport
{
  std::string outcome =
    "error"; // applied|already-applied|nothing-to-do|not-selected|declined|rolled-back-by-watch|error
  int exit_code = 1;
  std::vector<JournalChange> changes;
  std::string reason;
  std::string journal;
  std::vector<std::string> warnings; // what the operator should have read before confirming
};

nlohmann::json report_to_json(const ApplyReport& r)
{
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : r.changes) {
    changes.push_back({ { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } });
  }
  return { { "format_version", 1 },
           { "outcome", r.outcome },
           { "exit_code", r.exit_code },
           { "changes", changes },
           { "reason", r.reason },
           { "journal", r.journal.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.journal) },
           { "warnings", r.warnings } };
}

void apply_steps(const ApplyArgs& args, ApplyReport& report)
{
  install_interrupt_handlers();
  // Before anything is created (the state dir and its lock live under root by default).
  std::error_code root_ec;
  if (!args.root.empty() && !std::filesystem::is_directory(args.root, root_ec)) {
    throw Error("--root " + args.root,
                (root_ec ? root_ec.message() : std::string("not a directory")) + "; nothing was changed");
  }
  const Policy policy = load_policy_arg(args.policy);
  const std::filesystem::path root = args.root;
  const std::string rollback_hint = rollback_command(args.root, args.state_dir);
  report.journal = (resolve_state_dir(root, args.state_dir) / k_journal_name).string();

  std::optional<std::chrono::seconds> watch;
  if (!args.watch.empty()) {
    watch = parse_duration(args.watch);
    if (!watch) {
      throw Error("--watch " + printable(args.watch), "not a duration: use 0, 90s, 5m or 1h (at most 24h)");
    }
  }
  if (args.host_id_given && trim(args.host_id).empty()) {
    throw Error("--host-id", "empty: give the host's id, or leave the option out to use /etc/machine-id");
  }

  // Canary first: a host outside the cohort must not even compute a plan.
  std::optional<JournalCanary> canary;
  if (args.canary) {
    const double percent = args.canary_percent.value_or(static_cast<double>(policy.canary_percent.value));
    const std::string host_id = args.host_id_given ? args.host_id : read_host_id(root);
    const auto bucket = canary_bucket(host_id);
    const auto threshold = canary_threshold(percent);
    if (bucket >= threshold) {
      report.reason = "not in the canary cohort: this host's bucket is " + std::to_string(bucket) + ", " +
                      format_percent(percent) + "% selects buckets below " + std::to_string(threshold) +
                      " (of 10000); nothing was changed";
      say(report.reason);
      report.outcome = "not-selected";
      report.exit_code = 0;
      return;
    }
    say("in the canary cohort: bucket " + std::to_string(bucket) + " < " + std::to_string(threshold) + " (" +
        format_percent(percent) + "%)");
    canary = JournalCanary{ host_id, percent, bucket };
    if (!watch) {
      watch = std::chrono::seconds(policy.canary_watch_seconds.value);
    }
  }
  if (!watch && policy.watch_duration_seconds.value > 0) {
    watch = std::chrono::seconds(policy.watch_duration_seconds.value); // the site's default
  }

  if (watch && watch->count() > 0 && policy.watch_rules.empty()) {
    throw Error("policy " + policy.source,
                "has no watch rules, but this apply would watch for " + format_duration(*watch) +
                  ": a watch without rules judges nothing and always passes. Add watch.rules to the policy, "
                  "or apply with --watch 0; nothing was changed");
  }

  ApplyRequest request;
  request.root = root;
  request.proc_sys = proc_sys_dir();
  request.state_dir = args.state_dir;
  request.persist = !args.no_persist;
  request.canary = canary;
  request.command = own_command_line();
  request.rollback_hint = rollback_hint;
  for (const auto& g : policy.guardrails) {
    request.allowed_keys.insert(g.key);
  }
  request.override_check = overrides_at_boot;
  request.watch.duration = watch.value_or(std::chrono::seconds(0));
  for (const auto& rule : policy.watch_rules) {
    request.watch.thresholds.push_back({ rule.counter, rule.max_rise_per_second, rule.id });
  }
  request.watch.read_counters = [] { return read_counters("/proc"); };

  std::vector<std::string> reasons;
  bool source_nat = false;
  if (!args.plan_file.empty()) {
    const auto reviewed = read_plan_file(args.plan_file);
    if (const auto mismatch =
          host_mismatch(reviewed.hostname, reviewed.netns, current_hostname(), current_netns_inode())) {
      if (!args.ignore_host_mismatch) {
        throw Error("plan " + args.plan_file,
                    *mismatch + "; nothing was changed: make the plan where it is applied, or pass "
                                "--ignore-host-mismatch if this is really meant");
      }
      say("note: " + *mismatch + " (--ignore-host-mismatch)");
    }
    request.changes = reviewed.changes;
    reasons = reviewed.reasons;
    source_nat = reviewed.source_nat;
    request.check_current = true;
    request.plan_source = std::filesystem::absolute(args.plan_file).string();
    request.plan_sha256 = reviewed.sha256;
  } else {
    const Profile profile = load_profile_arg(args.profile);
    GatherOptions options;
    const Facts facts = gather_facts(options);
    const Plan plan = make_plan(facts, profile, policy);
    source_nat = plan.finding("source-nat") != nullptr;
    for (const auto& c : plan.changes) {
      request.changes.push_back({ c.key, c.current, c.target });
      reasons.push_back(c.reason);
    }
    request.check_current = true; // the plan was read a moment ago: any difference is a race
    request.plan_source = "computed (verdict " + std::string(to_string(plan.verdict)) + ")";
    request.plan_sha256 = sha256_hex(plan_to_json(plan, facts).dump());
  }
  // Guardrails: the value ranges the policy allows, checked before anything is touched.
  for (const auto& c : request.changes) {
    if (request.allowed_keys.count(c.key) != 0 && !has_control_char(c.proposed) &&
        !policy.allows(c.key, c.proposed)) {
      throw Error("plan " + request.plan_source,
                  c.key + " = \"" + printable(c.proposed) + "\" is outside what policy " + policy.id +
                    " allows; nothing was changed");
    }
  }
  const std::string plan_source = request.plan_source;
  const bool no_changes = request.changes.empty();

  // The lock and the journal come before any "nothing to do": an apply still running (its watch)
  // or an interrupted one awaiting rollback must not be reported as a converged host.
  Applier applier(std::move(request));
  if (no_changes) {
    report.reason = "the plan proposes no changes (" + plan_source + "): nothing to apply";
    say(report.reason);
    report.outcome = "nothing-to-do";
    report.exit_code = 0;
    return;
  }
  applier.prepare();
  report.changes = applier.changes();
  if (applier.already_applied()) {
    report.reason =
      "already applied: every key already holds the plan's value (" + plan_source + "); nothing was changed";
    say(report.reason);
    report.outcome = "already-applied";
    report.exit_code = 0;
    return;
  }
  if (applier.persist_only()) {
    say("tw-advisor apply: the runtime already holds every value, but " + std::string(k_sysctld_dir) + "/" +
        k_generated_file_name + " does not set them (deleted, or set by hand): persisting them");
  } else {
    say("tw-advisor apply: " + std::to_string(applier.changes().size()) + " change(s)");
  }
  for (std::size_t i = 0; i < applier.changes().size(); ++i) {
    const auto& c = applier.changes()[i];
    say("  " + c.key + ": " + c.old_value + " -> " + c.new_value +
        (i < reasons.size() ? "  (" + reasons[i] + ")" : ""));
  }
  if (applier.file()) {
    const auto& f = *applier.file();
    say("  persist: " + (std::filesystem::path(f.dir) / f.name).string() +
        (f.before ? " (rewritten)" : " (new file)") + (root == "/" ? "" : " under " + root.string()));
  } else {
    say("  persist: no (--no-persist): the change is lost at reboot");
  }
  const auto watch_for = watch.value_or(std::chrono::seconds(0));
  if (watch_for.count() > 0) {
    say("  watch: " + format_duration(watch_for) + ", rolled back automatically when a health counter rises");
  } else if (source_nat) {
    // Where reuse can hurt (reused tuples colliding behind SNAT), an unwatched change is the risk.
    report.warnings.push_back(
      std::string("the plan found source NAT in the path (finding source-nat), where reused ports can make "
                  "connects stall, and nothing watches this change: ") +
      (args.canary ? "drop --watch 0 to keep the canary's watch" : "prefer --canary, or add --watch 5m"));
    say("  warning: " + report.warnings.back());
  }
  for (const auto& note : applier.notes()) {
    say("  note: " + note);
  }
  if (!args.yes) {
    if (::isatty(STDIN_FILENO) == 0) {
      throw Error("apply", "no terminal to confirm on and --yes not given; nothing was changed");
    }
    if (!confirm("Apply these changes?")) {
      report.reason = "declined: nothing changed";
      say(report.reason);
      report.outcome = "declined";
      report.exit_code = 1;
      return;
    }
  }
  PrintObserver observer;
  const auto outcome = applier.execute(observer);
  observer.end_progress();
  if (outcome.result == ApplyResult::watch_rolled_back) {
    report.reason = outcome.reason;
    say("rolled back by the watch: " + outcome.reason);
    say("runtime values and " + std::string(k_sysctld_dir) + " are as they were before (journal " +
        outcome.journal_id + ")");
    report.outcome = "rolled-back-by-watch";
    report.exit_code = k_exit_watch_rolled_back;
    return;
  }
  if (watch_for.count() > 0) {
    report.reason = outcome.reused > 0 ? std::to_string(outcome.reused) +
                                           " TIME_WAIT tuples reused (TWRecycled): reuse is happening"
                                       : std::string("no TIME_WAIT reuse seen (TWRecycled did not move)");
    say("watch passed: " + report.reason);
  }
  say("applied (journal " + outcome.journal_id + "); undo with `" + rollback_hint + "`");
  report.outcome = "applied";
  report.exit_code = 0;
}

void run_apply(const ApplyArgs& args, int& exit_code)
{
  g_json_stdout = args.format == "json";
  ApplyReport report;
  try {
    apply_steps(args, report);
  } catch (const Error& e) {
    if (g_json_stdout) {
      report.outcome = "error";
      report.exit_code = 1;
      report.reason = e.what();
      std::fputs((report_to_json(report).dump(2) + "\n").c_str(), stdout);
      std::fflush(stdout);
    }
    throw; // main prints it on stderr and exits 1
  }
  if (g_json_stdout) {
    std::fputs((report_to_json(report).dump(2) + "\n").c_str(), stdout);
    std::fflush(stdout);
  }
  exit_code = report.exit_code;
}

void run_rollback(const RollbackArgs& args, int& exit_code)
{
  install_interrupt_handlers(); // a signal must not stop a rollback half-way; it finishes first
  PrintObserver observer;
  const auto out =
    rollback_last_apply(Target{ args.root, args.state_dir, proc_sys_dir() }, own_command_line(), observer);
  const auto dir = resolve_state_dir(args.root, args.state_dir);
  if (!out.had_journal) {
    say("nothing to roll back: no apply is recorded in " + dir.string());
  } else if (out.already_final) {
    say("nothing to roll back: the last apply (" + out.journal.id + ") is already rolled back (" +
        out.journal.reason + ")");
  } else {
    say("rolled back apply " + out.journal.id + " (it was " + out.previous_state + "): runtime values and " +
        k_sysctld_dir + " are as they were before it");
  }
  exit_code = 0;
}

// Whether the last apply has not finished (interrupted, or still running): then there is no
// settled state to judge drift against, in the text or the JSON.
bool unfinished(const StatusReport& r)
{
  return r.condition == StatusCondition::interrupted || r.condition == StatusCondition::in_progress;
}

nlohmann::json status_to_json(const StatusReport& r)
{
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : r.keys) {
    nlohmann::json boot = nullptr;
    if (k.boot) {
      boot = { { "value", k.boot->value }, { "origin", k.boot->origin } };
    }
    keys.push_back({ { "key", k.key },
                     { "old", k.old_value },
                     { "new", k.new_value },
                     { "runtime", k.runtime ? nlohmann::json(*k.runtime) : nlohmann::json(nullptr) },
                     { "persisted", k.persisted ? nlohmann::json(*k.persisted) : nlohmann::json(nullptr) },
                     { "boot", boot },
                     { "drift", k.drift } });
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : r.files) {
    files.push_back({ { "path", f.path },
                      { "exists", f.exists },
                      { "matches_applied", f.matches_applied },
                      { "matches_snapshot", f.matches_snapshot },
                      { "temp_left", f.temp_left } });
  }
  nlohmann::json apply = nullptr;
  if (r.has_journal) {
    apply = { { "id", r.journal.id },
              { "state", to_string(r.journal.state) },
              { "created_at", r.journal.created_at },
              { "updated_at", r.journal.updated_at },
              { "command", r.journal.command },
              { "plan", { { "source", r.journal.plan_source }, { "sha256", r.journal.plan_sha256 } } },
              { "reason", r.journal.reason } };
  }
  return { { "format_version", 1 },
           { "state_dir", r.state_dir.string() },
           { "condition", to_string(r.condition) },
           // null while an apply is unfinished: there is no settled state to judge drift against
           { "drifted",
             unfinished(r) || r.condition == StatusCondition::damaged ? nlohmann::json(nullptr)
                                                                      : nlohmann::json(r.drifted) },
           { "apply", apply },
           { "keys", keys },
           { "files", files },
           { "notes", r.notes },
           // "damaged": why the journal cannot be read, and how to restore by hand
           { "journal_error",
             r.journal_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.journal_error) },
           { "recovery", r.recovery } };
}

std::string status_to_text(const StatusReport& r)
{
  std::string out = "state dir: " + r.state_dir.string() + "\n";
  const bool unsettled = unfinished(r);
  if (r.condition == StatusCondition::damaged) {
    out += "last apply: unknown: the journal is damaged (" + r.journal_error + ")\n";
    out += "  rollback refuses a damaged journal. What it still tells:\n";
    for (const auto& k : r.keys) {
      out += "  " + k.key + ": before " + k.old_value + ", applied " +
             (k.new_value.empty() ? "?" : k.new_value) + ", runtime now " +
             (k.runtime ? *k.runtime : "unreadable (" + k.runtime_note + ")") + "\n";
    }
    out += "Restore by hand:\n";
    for (std::size_t i = 0; i < r.recovery.size(); ++i) {
      out += "  " + std::to_string(i + 1) + ". " + r.recovery[i] + "\n";
    }
    for (const auto& n : r.notes) {
      out += "note: " + n + "\n";
    }
    return out;
  }
  if (!r.has_journal) {
    out += "last apply: none\n";
  } else {
    out += "last apply: " + r.journal.id + ": " + to_string(r.condition) + " (journal state " +
           to_string(r.journal.state) + ", updated " + r.journal.updated_at + ")\n";
    out += "  plan: " + r.journal.plan_source + " (sha256 " + r.journal.plan_sha256 + ")\n";
    if (!r.journal.reason.empty()) {
      out += "  reason: " + r.journal.reason + "\n";
    }
    for (const auto& k : r.keys) {
      out += "  " + k.key + ": before " + k.old_value + ", applied " + k.new_value + ", runtime now " +
             (k.runtime ? *k.runtime : "unreadable (" + k.runtime_note + ")");
      if (unsettled && k.runtime && same_sysctl_value(*k.runtime, k.new_value) &&
          !same_sysctl_value(*k.runtime, k.old_value)) {
        out += " (changed by the unfinished apply; rollback restores " + k.old_value + ")";
      } else if (unsettled && k.runtime && !same_sysctl_value(*k.runtime, k.old_value)) {
        out += " (neither the value before nor the applied one: set by someone else; rollback sets " +
               k.old_value + ")";
      }
      if (k.persisted) {
        out += ", persisted " + *k.persisted;
      }
      if (k.boot) {
        out += ", at boot " + k.boot->value + " (" + k.boot->origin + ")";
      }
      out += "\n";
      for (const auto& d : k.drift) {
        out += "    drift: " + d + "\n";
      }
    }
    for (const auto& f : r.files) {
      out += "  file " + f.path + ": " +
             (f.exists ? (f.matches_applied    ? "as applied"
                          : f.matches_snapshot ? "as before the apply"
                                               : "changed since")
                       : "absent") +
             (f.temp_left ? ", temp file left" : "") + "\n";
    }
  }
  if (unsettled) {
    // Drift is measured against a finished apply or rollback; an unfinished one has no settled
    // state to compare with, and "none" would read as "consistent".
    out += "drift: not judged against the journal: the last apply is " + std::string(to_string(r.condition)) +
           "\n";
  } else {
    out += std::string("drift: ") + (r.drifted ? "yes" : "none") + "\n";
  }
  for (const auto& n : r.notes) {
    out += "note: " + n + "\n";
  }
  return out;
}

void run_status(const StatusArgs& args, int& exit_code)
{
  auto report = read_status(Target{ args.root, args.state_dir, proc_sys_dir() }, boot_settings);
  for (auto& note : report.notes) {
    // The engine's hints name the plain command; echo the options this status was given.
    note = with_rollback_command(std::move(note), args.root, args.state_dir);
  }
  const std::string out =
    args.format == "json" ? status_to_json(report).dump(2) + "\n" : status_to_text(report);
  std::fputs(out.c_str(), stdout);
  const bool attention = report.condition == StatusCondition::interrupted ||
                         report.condition == StatusCondition::damaged || report.drifted;
  exit_code = args.detailed_exitcode && attention ? k_exit_status_attention : 0;
}

void add_root_options(CLI::App* cmd, std::string& root, std::string& state_dir)
{
  cmd
    ->add_option("--root",
                 root,
                 "Treat DIR as / for files (/etc/sysctl.d, /etc/machine-id, the state dir); "
                 "runtime keys are always /proc/sys of this network namespace")
    ->type_name("DIR");
  cmd
    ->add_option(
      "--state-dir", state_dir, "Journal and lock directory (default /var/lib/tw-advisor under --root)")
    ->type_name("DIR");
}

} // namespace

void add_apply_commands(CLI::App& app, int& exit_code)
{
  auto apply_args = std::make_shared<ApplyArgs>();
  CLI::App* apply = app.add_subcommand(
    "apply",
    "Apply a plan safely: journal and snapshot first, then write each /proc/sys key and read it back,\n"
    "optionally watch the health counters, then persist a generated /etc/sysctl.d file. Any failure\n"
    "rolls everything back. Needs root.");
  apply
    ->add_option("--plan",
                 apply_args->plan_file,
                 "Apply exactly this reviewed plan (from `plan --out`); "
                 "refused when the host has changed since")
    ->type_name("FILE");
  apply->add_flag("--yes,-y", apply_args->yes, "Do not ask for confirmation (needed without a terminal)");
  auto* canary_flag = apply->add_flag(
    "--canary", apply_args->canary, "Apply only if this host is in the canary cohort; watches by default");
  apply
    ->add_option("--canary-percent",
                 apply_args->canary_percent,
                 "Cohort size in percent (0-100, default from the policy: 10)")
    ->check(number_range(0.0, 100.0))
    ->needs(canary_flag)
    ->type_name("P");
  apply->add_option("--host-id", apply_args->host_id, "Host id for the canary hash (default /etc/machine-id)")
    ->type_name("ID")
    ->each([apply_args](const std::string&) { apply_args->host_id_given = true; });
  apply
    ->add_option("--watch",
                 apply_args->watch,
                 "Watch the health counters this long after the runtime change and roll back when one rises: "
                 "0, 90s, 5m, 1h (default 0; with --canary the policy's canary window)")
    ->type_name("DURATION");
  apply->add_flag(
    "--no-persist", apply_args->no_persist, "Change the runtime only; write nothing to /etc/sysctl.d");
  apply->add_flag("--ignore-host-mismatch",
                  apply_args->ignore_host_mismatch,
                  "Apply a --plan made on another host name or network namespace (refused by default)");
  apply
    ->add_option("--format",
                 apply_args->format,
                 "Output format: text, or json (one object on stdout: outcome, exit_code, changes, reason, "
                 "journal; the steps go to stderr)")
    ->check(CLI::IsMember({ "text", "json" }));
  add_root_options(apply, apply_args->root, apply_args->state_dir);
  apply->add_option("--profile", apply_args->profile, "Host profile NAME or PATH, for a computed plan")
    ->type_name("NAME|PATH");
  apply
    ->add_option("--policy",
                 apply_args->policy,
                 "PATH to a policy YAML: allowed keys and value ranges, watch thresholds, canary defaults "
                 "(default: the shipped policies/default.yaml)")
    ->type_name("PATH");
  apply->footer(
    "Steps, each durable before the next: take the locks (one apply or rollback at a time per network\n"
    "namespace and per --root, whatever the --state-dir: /run/lock/tw-advisor; then the state dir's);\n"
    "write the journal with the snapshot (old runtime values, exact previous bytes of every file to be\n"
    "written) and fsync it; write each key to /proc/sys and read it back; watch (if any); write\n"
    "/etc/sysctl.d/90-tw-advisor.conf atomically, after the resolver confirms it wins at boot (if another\n"
    "file overrides a key, apply names file:line and refuses); mark the journal done. Killed at any\n"
    "point: run `tw-advisor rollback`.\n\n"
    "Canary: the host's bucket is SHA-256(\"tw-advisor-canary:\" + host id), first 8 bytes, mod 10000; it "
    "is\n"
    "selected when bucket < P*100. The same P always picks the same hosts; a larger P only adds hosts.\n"
    "Watch: every second, each policy counter's rate since the change minus its rate in a short pre-apply\n"
    "baseline must stay under the rule's max_rise_per_second (Tcp.AttemptFails, TcpExt.PAWSActive,\n"
    "PAWSEstab, TSEcrRejected, TCPSynRetrans); TcpExt.TWRecycled is reported as reuse happening.\n\n"
    "Examples:\n"
    "  tw-advisor plan --out plan.json          review it, then:\n"
    "  tw-advisor apply --plan plan.json        shows the changes and asks\n"
    "  tw-advisor apply --canary --canary-percent 5 --watch 10m --yes   on every host of a fleet\n"
    "  tw-advisor status                        what was applied, and any drift since\n"
    "  tw-advisor rollback                      back to exactly how it was\n\n"
    "A --plan is refused when its verdict is not helps but it lists changes (edited by hand), and when\n"
    "it was made on another host name or network namespace (--ignore-host-mismatch overrides that).\n"
    "Re-running the same plan once applied is \"already applied\", exit 0, only when the runtime AND the\n"
    "generated file hold every value; when the file was deleted (or the keys were set by hand) apply\n"
    "persists them, journaled like any apply. An apply interrupted earlier\n"
    "(see status) makes apply refuse until `tw-advisor rollback` (with the same --root/--state-dir) ran.\n\n"
    "Exit codes: 0 applied, already applied, nothing to do, or not in the canary cohort; 1 error (nothing\n"
    "changed, or everything rolled back; the message says which), another apply holds the lock, an\n"
    "interrupted apply awaits rollback, or declined at the prompt (\"declined: nothing changed\");\n"
    "3 applied, then rolled back by the watch.\n"
    "--format json outcomes: applied, already-applied, nothing-to-do, not-selected, declined,\n"
    "rolled-back-by-watch, error.\n"
    "Test hook: TW_ADVISOR_FAILPOINT=after-journal|mid-runtime|after-runtime|mid-persist|after-persist\n"
    "SIGKILLs the process at that step; TW_ADVISOR_PROC_SYS=DIR makes apply, rollback and status use DIR\n"
    "instead of /proc/sys (the CLI tests' fake tree). Details: doc/apply.md.");
  apply->callback([apply_args, &exit_code] { run_apply(*apply_args, exit_code); });

  auto rollback_args = std::make_shared<RollbackArgs>();
  CLI::App* rollback = app.add_subcommand(
    "rollback",
    "Undo the last apply from its journal: every runtime key back to its snapshot value, /etc/sysctl.d\n"
    "back to exactly what it was (files restored byte for byte, added files and temp files removed).\n"
    "Also finishes undoing an apply that was interrupted or killed at any step.");
  add_root_options(rollback, rollback_args->root, rollback_args->state_dir);
  rollback->footer(
    "Run it in the same network namespace and with the same --root as the apply. It writes only below\n"
    "/proc/sys of its own namespace and refuses a journal that names another tree or is damaged\n"
    "(`tw-advisor status` then says how to restore by hand).\n"
    "A key or the generated file changed by someone since the apply is still restored to its pre-apply\n"
    "value; rollback prints a warning naming each one and what it held (nothing is lost silently).\n"
    "Only the last apply can be rolled back; a second rollback says there is nothing to do.\n"
    "Exit codes: 0 rolled back or nothing to do; 1 error (what could not be restored, and why).");
  rollback->callback([rollback_args, &exit_code] { run_rollback(*rollback_args, exit_code); });

  auto status_args = std::make_shared<StatusArgs>();
  CLI::App* status = app.add_subcommand(
    "status",
    "The last apply and its state (done, rolled back, interrupted, in progress), and drift between the\n"
    "runtime values, the journal and the persisted configuration (what the sysctl.d files set at boot).\n"
    "Reads only.");
  status->add_option("--format", status_args->format, "Output format")
    ->check(CLI::IsMember({ "text", "json" }));
  status->add_flag("--detailed-exitcode",
                   status_args->detailed_exitcode,
                   "Exit 2 when the last apply was interrupted or anything drifted (for monitoring)");
  add_root_options(status, status_args->root, status_args->state_dir);
  status->footer(
    "Conditions: done, rolled back, none; \"interrupted\" means an apply was killed: run\n"
    "`tw-advisor rollback`. \"in progress\" means an apply holds the lock of this state dir, network\n"
    "namespace or root now, perhaps still at its prompt before its journal exists. \"damaged\" means the\n"
    "journal cannot be read (cut short, edited): rollback refuses it, and status lists the snapshot\n"
    "values it can still read and the steps to restore by hand.\n"
    "Exit codes: 0 status printed (drift or not; with --detailed-exitcode: nothing to report);\n"
    "1 error; 2 (only with --detailed-exitcode) interrupted, damaged, or drift found.");
  status->callback([status_args, &exit_code] { run_status(*status_args, exit_code); });
}

} // namespace tw::cli
