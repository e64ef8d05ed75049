// `tw-advisor plan`: the dry run. Gathers the facts of this network namespace, asks the policy
// engine whether net.ipv4.tcp_tw_reuse helps, and prints the verdict, why, and what to change.
// Changes nothing on the host; --out writes the reviewed plan for `apply --plan`.
#include "apply/engine.hpp"
#include "apply/sysctld_writer.hpp"
#include "cli/commands.hpp"
#include "cli/hints.hpp"
#include "cli/profile_args.hpp"
#include "cli/validators.hpp"
#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "facts/gather.hpp"
#include "policy/engine.hpp"
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "report/plan_text.hpp"
#include "sysctld/resolver.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_strict.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace tw::cli {

namespace {

struct PlanArgs
{
  std::string format = "text";
  std::string out;
  bool detailed_exitcode = false;
  std::string root = "/";
  std::string state_dir; // empty: /var/lib/tw-advisor under root
  double sample = 0.0;
  std::string profile;
  std::string policy;
  std::string facts; // hidden: recorded facts instead of live ones (golden tests, offline review)
};

Facts recorded_facts(const std::string& path)
{
  return facts_from_json(parse_json_strict(read_file_or_throw(path), path), path);
}

// What sysctl.d under --root means for this plan: runtime values that differ from what wins at
// boot (a plan applied without persisting would be undone at the next boot, and an operator should
// know who sets what), judged under both loaders as apply persists for both; and the paths that
// could not be read, because then the boot values above may be incomplete.
void add_boot_findings(const std::filesystem::path& root, const Facts& facts, Plan& plan)
{
  const sysctld::Loader first = sysctld::boot_loader(root);
  const sysctld::Loader second =
    first == sysctld::Loader::systemd ? sysctld::Loader::procps : sysctld::Loader::systemd;
  const std::vector<sysctld::BootResolution> resolutions = { sysctld::resolve(root, first),
                                                             sysctld::resolve(root, second) };
  for (const auto& d : sysctld::boot_drift(facts.sysctls, resolutions)) {
    Finding f;
    f.id = "boot-drift";
    f.severity = Severity::warn;
    f.summary = d.message;
    // The line of the first loader whose boot value differs from the runtime one.
    for (const auto& b : d.boots) {
      if (b.source && b.boot && !same_sysctl_value(*b.boot, d.runtime)) {
        f.evidence = { { "line", static_cast<double>(b.source->line) } };
        break;
      }
    }
    f.rationale = std::string("a runtime value that no winning sysctl.d file holds is lost at the next boot, "
                              "and a boot value that differs will come back; this host boots with ") +
                  sysctld::to_string(first);
    plan.findings.push_back(std::move(f));
  }

  std::vector<std::string> unreadable;
  std::string listed;
  for (const auto& res : resolutions) {
    for (const auto& u : res.unreadable) {
      std::string text = u.path.string() + " (" + u.reason + ")";
      if (std::find(unreadable.begin(), unreadable.end(), text) == unreadable.end()) {
        listed += (listed.empty() ? "" : ", ") + text;
        unreadable.push_back(std::move(text));
      }
    }
  }
  if (!unreadable.empty()) {
    Finding f;
    f.id = "sysctld-unreadable";
    f.severity = Severity::warn;
    f.summary =
      "cannot read " + listed + ": what sysctl.d sets at boot is incomplete (run as root to see it all)";
    f.evidence = { { "paths", static_cast<double>(unreadable.size()) } };
    f.rationale = "a loader running as root at boot reads these files; a value set there may undo a "
                  "runtime change or be the drift an operator is looking for";
    plan.findings.push_back(std::move(f));
  }
}

// apply persists the changes in a generated file and refuses when another file would override it at
// boot; say so now, naming that file, rather than let the reviewed plan fail at apply time.
void add_persist_check(const std::filesystem::path& root, Plan& plan)
{
  Settings updates;
  for (const auto& c : plan.changes) {
    updates.emplace_back(c.key, c.target);
  }
  if (updates.empty()) {
    return;
  }
  // apply rewrites its generated file with what an earlier apply left there plus these changes,
  // and checks all of it: so does this.
  const auto dest = std::filesystem::path(k_sysctld_dir) / k_generated_file_name;
  Settings previous;
  std::error_code ec;
  if (const auto existing = under_root(root, dest); std::filesystem::is_regular_file(existing, ec)) {
    try {
      previous = parse_generated_settings(read_file_or_throw(existing)).value_or(Settings{});
    } catch (const Error& e) {
      spdlog::debug("persist check: {}", e.what()); // unreadable: apply will name it
    }
  }
  for (const auto& [key, why] : sysctld::overrides_at_boot(root, dest, merge_settings(previous, updates))) {
    Finding f;
    f.id = "persist-overridden";
    f.severity = Severity::warn;
    f.summary = "apply would refuse to persist " + key + " in " + dest.string() + ": " + why +
                "; change that file first, or apply with --no-persist (runtime only, lost at reboot)";
    f.rationale = "a generated file that another file overrides at boot would leave the next boot "
                  "undoing the change; apply refuses rather than persist something that does not hold";
    plan.findings.push_back(std::move(f));
  }
}

// An apply that was interrupted (crash, kill, power loss) leaves its journal behind; apply refuses
// until rollback has run, and the runtime values may be half-changed. Say so before anything else.
void add_interrupted_apply(const std::filesystem::path& root, const std::string& state_dir, Plan& plan)
{
  const auto note = interrupted_apply_note(root, state_dir);
  if (!note) {
    return;
  }
  Finding f;
  f.id = "apply-interrupted";
  f.severity = Severity::critical;
  f.summary = with_rollback_command(*note, root.string(), state_dir);
  f.rationale = "the values read now may be a half-applied change: `tw-advisor rollback` restores the "
                "snapshot, then plan again";
  plan.reasons.insert(plan.reasons.begin(),
                      "An earlier apply never finished: the values read now may be half-applied, and apply "
                      "refuses until `" +
                        rollback_command(root.string(), state_dir) +
                        "` has run (finding apply-interrupted).");
  plan.findings.insert(plan.findings.begin(), std::move(f));
}

// Writes text to path atomically: a temp file beside it, fsync, rename, fsync of the directory.
void write_atomically(const std::filesystem::path& path, const std::string& text)
{
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    throw Error("--out " + path.string(),
                "cannot create a temporary file in " + dir.string() + ": " + errno_text(errno));
  }
  const auto fail = [&](const std::string& step) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw Error("--out " + path.string(), step + ": " + errno_text(err));
  };
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write " + tmpl);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) {
    fail("chmod " + tmpl);
  }
  if (::fsync(fd) != 0) {
    fail("fsync " + tmpl);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw Error("--out " + path.string(), "close " + tmpl + ": " + errno_text(err));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw Error("--out " + path.string(), "rename from " + tmpl + ": " + errno_text(err));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void run_plan(const PlanArgs& args, int& exit_code)
{
  std::error_code ec;
  if (!std::filesystem::is_directory(args.root, ec)) {
    throw Error("--root " + args.root, ec ? ec.message() : "not a directory");
  }
  if (!args.out.empty() && std::filesystem::is_directory(args.out, ec)) {
    throw Error("--out " + args.out,
                "is a directory; give the file to write, e.g. --out " +
                  (std::filesystem::path(args.out) / "plan.json").string());
  }
  const Profile profile = load_profile_arg(args.profile);
  const Policy policy = load_policy_arg(args.policy);

  Facts facts;
  if (!args.facts.empty()) {
    facts = recorded_facts(args.facts);
  } else {
    GatherOptions options;
    options.sample_seconds = args.sample;
    facts = gather_facts(options);
  }

  Plan plan = make_plan(facts, profile, policy);
  if (args.facts.empty()) {
    // A recording's sysctls describe another moment (often another host): comparing them with this
    // host's sysctl.d would report drift that is not there.
    add_boot_findings(args.root, facts, plan);
    add_persist_check(args.root, plan);
    add_interrupted_apply(args.root, args.state_dir, plan);
  }

  // The JSON document only when it is written or printed; plan_to_json makes every string valid
  // UTF-8, and the dump replaces anything left rather than throw.
  std::string json_text;
  if (!args.out.empty() || args.format == "json") {
    json_text =
      plan_to_json(plan, facts).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (!args.out.empty()) {
    write_atomically(args.out, json_text);
  }
  const std::string text = args.format == "json"
                             ? json_text
                             : plan_to_text(plan, PlanTextOptions{ colour_wanted_on_stdout(), args.out });
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  exit_code = args.detailed_exitcode && !plan.changes.empty() ? 2 : 0;
}

} // namespace

void add_plan_command(CLI::App& app, int& exit_code)
{
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand(
    "plan",
    "Dry run: decide from live evidence whether net.ipv4.tcp_tw_reuse helps on this host, and show\n"
    "what would change and why. Changes nothing.");
  cmd
    ->add_option(
      "--format", args->format, "Output format: text for people, json for tools (doc/plan-schema.md)")
    ->check(CLI::IsMember({ "text", "json" }));
  cmd->add_option(
    "--out",
    args->out,
    "Also write the JSON plan to FILE (atomically), for `apply --plan FILE` to apply exactly that");
  cmd->add_flag("--detailed-exitcode",
                args->detailed_exitcode,
                "Exit 2 when changes are proposed (as `terraform plan -detailed-exitcode`)");
  cmd
    ->add_option(
      "--root",
      args->root,
      "Root of the host's file system for sysctl.d (boot drift); /proc and /sys are never prefixed")
    ->capture_default_str();
  cmd
    ->add_option("--state-dir",
                 args->state_dir,
                 "Where apply keeps its journal (default /var/lib/tw-advisor under --root); plan only reads\n"
                 "it, to warn about an interrupted apply")
    ->type_name("DIR");
  cmd
    ->add_option("--sample",
                 args->sample,
                 "Read the counters twice, SECONDS apart, to report rates (connections/s, TWRecycled/s)")
    ->check(number_range(0.0, 3600.0));
  cmd->add_option("--profile",
                  args->profile,
                  "Host intent: default, web-server, api-client, proxy, container-node, or a PATH to a YAML "
                  "profile (doc/profiles.md)");
  cmd->add_option(
    "--policy", args->policy, "PATH to a policy YAML (default: the shipped policies/default.yaml)");
  cmd
    ->add_option(
      "--facts", args->facts, "Judge recorded facts (the facts+sockets of a JSON plan) instead of live ones")
    ->group(""); // hidden: for golden tests and offline review
  cmd->footer(
    "Verdicts (exactly one):\n"
    "  helps                  outbound TIME_WAIT holds a large share of the ports towards some destination\n"
    "                         (or connects fail for lack of ports) and the current tcp_tw_reuse does not\n"
    "                         cover that traffic; the plan proposes the change (prerequisite fixes first).\n"
    "  irrelevant             the TIME_WAIT is inbound (tcp_tw_reuse never applies to accepted\n"
    "                         connections), or outbound without port pressure, or there is none.\n"
    "  already-enabled        tcp_tw_reuse already covers the pressured traffic (1; or 2 when only\n"
    "                         loopback destinations are pressured).\n"
    "  blocked                it would help, but a prerequisite fails that the plan may not or cannot\n"
    "                         fix: the policy forbids the fix, or the peer refuses TCP timestamps.\n"
    "  insufficient-evidence  something needed could not be read (it is named): run as root, inside\n"
    "                         the network namespace to judge.\n\n"
    "Why it is subtle: tcp_tw_reuse=2 (the default) covers only loopback (127/8, ::1, bound to lo), not\n"
    "the host's own other addresses nor containers over veth; tcp_timestamps=0 makes it a no-op; only\n"
    "connect() consults it; source NAT can make reused tuples collide at the peer (PAWS), so canary.\n"
    "Pressure is per destination (source, destination, port): closing first without reuse, each one\n"
    "takes at most usable ports / 60 s new connections per second (28232 / 60 = 470 by default).\n\n"
    "Examples:\n"
    "  tw-advisor plan                                   what an operator reads\n"
    "  tw-advisor plan --profile api-client --sample 5   with rates over 5 s\n"
    "  tw-advisor plan --out plan.json && tw-advisor apply --plan plan.json\n"
    "  ip netns exec NS tw-advisor plan                  judge one network namespace (each is separate)\n\n"
    "Exit codes: 0 the plan was made (whatever the verdict); 1 error (named, with file:line:column for\n"
    "profiles and policies); 2 with --detailed-exitcode when changes are proposed.");
  cmd->callback([args, &exit_code] { run_plan(*args, exit_code); });
}

} // namespace tw::cli
