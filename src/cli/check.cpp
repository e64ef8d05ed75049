// `tw-advisor check`: the pre-check hook for configuration management. Validates proposed sysctl.d
// files against this kernel, and against the host's existing sysctl.d once merged (which file wins
// at boot under systemd-sysctl and under `sysctl --system`). Reads only.
#include "sysctld/check.hpp"

#include "cli/commands.hpp"
#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "facts/sock_diag.hpp"
#include "model/census.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace tw::cli {

namespace {

namespace fs = std::filesystem;
using sysctld::escape_text;
using sysctld::Severity;

// An input problem that makes the answer incomplete or impossible: named path and cause.
struct InputError
{
  std::string path;
  std::string cause;
};

struct CheckArgs
{
  std::vector<std::string> files;
  std::string dest;
  std::string root = "/";
  std::string format = "text";
  std::string proc = "/proc";
  std::string policy;
};

// The policy whose guardrails the values must respect: --policy, else the installed default,
// else the built-in one (the same values policies/default.yaml documents).
Policy load_check_policy(const std::string& path, std::string& note)
{
  if (!path.empty()) {
    return config::load_policy(path, {});
  }
  try {
    return config::load_policy({}, config::default_data_dir());
  } catch (const Error& e) {
    note = std::string("built-in policy (") + e.what() + ")";
    return Policy{};
  }
}

// Listening TCP ports of this network namespace from sock_diag (both families); nullopt on failure.
std::optional<std::vector<std::uint16_t>> listening_ports(std::string& note)
{
  SockDiag diag;
  if (!diag.ok()) {
    note = diag.step() + ": " + errno_text(diag.error());
    return std::nullopt;
  }
  std::set<std::uint16_t> ports;
  for (const int family : { AF_INET, AF_INET6 }) {
    const auto r = diag.dump_tcp(family,
                                 state_bit(static_cast<unsigned>(TcpState::listen)),
                                 false,
                                 [&](const SockRecord& rec) { ports.insert(rec.local_port); });
    if (!r.ok && family == AF_INET) {
      note = r.step + ": " + errno_text(r.error);
      return std::nullopt;
    }
  }
  note = "LISTEN sockets from NETLINK_SOCK_DIAG";
  return std::vector<std::uint16_t>(ports.begin(), ports.end());
}

std::string text_report(const std::vector<sysctld::ProposedFile>& files,
                        const std::vector<bool>& assumed,
                        const sysctld::CheckReport& report,
                        const sysctld::KernelView& kernel,
                        const std::string& root,
                        const std::vector<InputError>& errors)
{
  std::string out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (assumed[i]) {
      out += "note: " + escape_text(files[i].display) + " is checked as " + files[i].dest.string() +
             " (give --dest PATH to say where it is installed)\n";
    }
  }
  if (!kernel.listening) {
    out += "note: listening ports unknown (" + kernel.listening_note +
           "); the port range was not checked against them\n";
  }
  for (const auto& f : report.findings) {
    std::string where = f.file.empty() ? "tw-advisor" : f.file;
    if (f.line > 0) {
      where += ":" + std::to_string(f.line);
    }
    out +=
      escape_text(where) + ": " + to_string(f.severity) + ": " + escape_text(f.message) + " [" + f.id + "]\n";
  }
  std::string names;
  for (const auto& f : files) {
    names += (names.empty() ? "" : ", ") + escape_text(f.display) + " -> " + escape_text(f.dest.string());
  }
  if (!errors.empty()) {
    out += "check: INCOMPLETE: " + std::to_string(errors.size()) +
           " configuration path(s) the loaders read could not be read (see stderr), so what wins at boot "
           "is unknown; " +
           std::to_string(report.errors()) + " error(s), " + std::to_string(report.warnings()) +
           " warning(s) found in what could be read, in " + names + " (root " + escape_text(root) + ")\n";
  } else if (report.errors() > 0) {
    out += "check: " + std::to_string(report.errors()) + " error(s), " + std::to_string(report.warnings()) +
           " warning(s) in " + names + " (root " + escape_text(root) + "): do not install\n";
  } else {
    out += "check: OK, " + std::to_string(report.warnings()) + " warning(s) in " + names + " (root " +
           escape_text(root) + ")\n";
  }
  return out;
}

nlohmann::json errors_json(const std::vector<InputError>& errors)
{
  auto out = nlohmann::json::array();
  for (const auto& e : errors) {
    out.push_back({ { "path", escape_text(e.path) }, { "cause", escape_text(e.cause) } });
  }
  return out;
}

nlohmann::json json_report(const std::vector<sysctld::ProposedFile>& files,
                           const std::vector<bool>& assumed,
                           const sysctld::CheckReport& report,
                           const sysctld::KernelView& kernel,
                           const std::string& root,
                           const std::vector<InputError>& errors,
                           int exit_code)
{
  nlohmann::json j;
  j["schema_version"] = 2;
  j["root"] = escape_text(root);
  j["files"] = nlohmann::json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    j["files"].push_back({ { "file", escape_text(files[i].display) },
                           { "dest", escape_text(files[i].dest.string()) },
                           { "dest_assumed", assumed[i] } });
  }
  j["findings"] = nlohmann::json::array();
  for (const auto& f : report.findings) {
    nlohmann::json item;
    item["id"] = f.id;
    item["severity"] = to_string(f.severity);
    item["file"] = f.file.empty() ? nlohmann::json() : nlohmann::json(escape_text(f.file));
    item["line"] = f.line == 0 ? nlohmann::json() : nlohmann::json(f.line);
    item["key"] = f.key.empty() ? nlohmann::json() : nlohmann::json(escape_text(f.key));
    item["message"] = escape_text(f.message);
    j["findings"].push_back(item);
  }
  j["error_count"] = report.errors(); // schema 2: "errors" is now the input-error array
  j["warnings"] = report.warnings();
  j["listening_ports_checked"] = kernel.listening.has_value();
  j["errors"] = errors_json(errors);
  j["complete"] = errors.empty();
  j["exit_code"] = exit_code;
  return j;
}

// The JSON printed for an input error that stopped the check before any finding (exit 1): every
// field of a full report, so a consumer never meets a missing key.
nlohmann::json json_input_error(const CheckArgs& args, const InputError& error)
{
  nlohmann::json j;
  j["schema_version"] = 2;
  j["root"] = escape_text(args.root);
  j["files"] = nlohmann::json::array();
  for (const auto& file : args.files) {
    j["files"].push_back(
      { { "file", escape_text(file) }, { "dest", nullptr }, { "dest_assumed", args.dest.empty() } });
  }
  j["findings"] = nlohmann::json::array();
  j["error_count"] = 0;
  j["warnings"] = 0;
  j["listening_ports_checked"] = false;
  j["errors"] = errors_json({ error });
  j["complete"] = false;
  j["exit_code"] = 1;
  return j;
}

void run_check_command(const CheckArgs& args, int& exit_code)
{
  if (!args.dest.empty() && args.files.size() != 1) {
    throw Error("--dest " + args.dest, "it names where ONE file is installed; give exactly one FILE with it");
  }
  if (!args.dest.empty() && fs::path(args.dest).is_relative()) {
    throw Error("--dest " + args.dest,
                "give the absolute path on the target host, e.g. /etc/sysctl.d/60-net.conf");
  }
  std::error_code ec;
  if (!fs::is_directory(args.root, ec)) {
    throw Error("--root " + args.root, ec ? ec.message() : "not a directory");
  }
  std::vector<sysctld::ProposedFile> files;
  std::vector<bool> assumed;
  for (const auto& file : args.files) {
    if (fs::is_directory(file, ec)) {
      throw Error(file, "is a directory; give the sysctl.d files themselves");
    }
    sysctld::ProposedFile p;
    p.display = file;
    p.content = read_file_or_throw(file);
    bool guessed = false;
    p.dest = args.dest.empty() ? sysctld::infer_dest(file, args.root, guessed)
                               : fs::path(args.dest).lexically_normal();
    files.push_back(std::move(p));
    assumed.push_back(guessed);
  }
  sysctld::KernelView kernel = sysctld::proc_kernel_view(args.proc);
  if (args.proc == "/proc") {
    std::string note;
    auto ports = listening_ports(note);
    if (ports) {
      kernel.listening = std::move(ports);
      kernel.listening_note = note;
    } else {
      kernel.listening_note = note + "; " + kernel.listening_note;
    }
  }
  std::string policy_note;
  const Policy policy = load_check_policy(args.policy, policy_note);
  sysctld::CheckOptions options;
  options.root = args.root;
  for (const auto& g : policy.guardrails) {
    options.extra_ranges.push_back({ g.key, g.min, g.max, "policy's " + g.id });
  }
  options.narrow_port_range =
    static_cast<std::uint32_t>(std::max<std::int64_t>(0, policy.narrow_port_range.value));
  const auto report = sysctld::run_check(files, kernel, options);
  std::vector<InputError> errors;
  for (const auto& u : report.unreadable) {
    const auto shown = args.root == "/"
                         ? u.path.string()
                         : u.path.string() + " (" + under_root(args.root, u.path).string() + ")";
    errors.push_back({ shown,
                       u.reason + ": " + (u.path.filename() == "sysctl.d" ? "a directory" : "a file") +
                         " the boot loaders read, so what wins at boot cannot be told; run check with read "
                         "access to it (e.g. as root)" });
  }
  for (const auto& e : errors) {
    std::fprintf(
      stderr, "tw-advisor: error: %s: %s\n", escape_text(e.path).c_str(), escape_text(e.cause).c_str());
  }
  exit_code = !errors.empty() ? 1 : report.errors() > 0 ? 2 : 0;
  if (args.format == "json") {
    std::fputs(
      (json_report(files, assumed, report, kernel, args.root, errors, exit_code).dump(2) + "\n").c_str(),
      stdout);
  } else {
    std::fputs(text_report(files, assumed, report, kernel, args.root, errors).c_str(), stdout);
  }
}

// With --format json an input error still prints one JSON object (and the usual stderr line).
void run_check_or_report(const CheckArgs& args, int& exit_code)
{
  if (args.format != "json") {
    run_check_command(args, exit_code);
    return;
  }
  try {
    run_check_command(args, exit_code);
  } catch (const Error& e) {
    std::fprintf(stderr, "tw-advisor: error: %s\n", escape_text(e.what()).c_str());
    std::fputs((json_input_error(args, { e.subject(), e.reason() }).dump(2) + "\n").c_str(), stdout);
    exit_code = 1;
  }
}

} // namespace

void add_check_command(CLI::App& app, int& exit_code)
{
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
    "check",
    "Validate proposed sysctl.d files before they are installed: syntax, keys this kernel lacks,\n"
    "values out of range, unsafe results once merged with this host's configuration, and which\n"
    "file wins at boot. Reads only; changes nothing.");
  cmd->add_option("FILE", args->files, "sysctl.d file(s) to check (a temporary copy is fine, see --dest)")
    ->required();
  cmd->add_option("--dest",
                  args->dest,
                  "Absolute path where FILE will be installed on the target (under --root), e.g.\n"
                  "/etc/sysctl.d/60-net.conf. Default: FILE's own path when it is in a sysctl.d\n"
                  "directory, else /etc/sysctl.d/<FILE's name>");
  cmd->add_option("--root", args->root, "Root of the target's file system (sysctl.d trees are read under it)")
    ->capture_default_str();
  cmd->add_option("--format", args->format, "Output format")
    ->check(CLI::IsMember({ "text", "json" }))
    ->capture_default_str();
  cmd->add_option("--policy",
                  args->policy,
                  "Policy whose guardrails (allowed value ranges) the values must respect\n"
                  "(default: the installed policies/default.yaml)");
  cmd->add_option("--proc", args->proc, "A /proc tree to read instead of the live one (tests)")->group("");
  cmd->footer(
    "What is checked:\n"
    "  lines     syntax (file:line), keys this kernel lacks (net.ipv4.tcp_tw_recycle: removed in\n"
    "            4.12), values outside the kernel's range, no trailing comments (`key = 1 # x`\n"
    "            writes \"1 # x\"), tcp_timestamps = 0.\n"
    "  merged    the proposed files laid over the sysctl.d under --root: tcp_tw_reuse on with\n"
    "            tcp_timestamps off, an ip_local_port_range that is inverted, narrower than 1024 ports\n"
    "            or covers a port something listens on now, reserved ports outside the range.\n"
    "  boot      under systemd-sysctl AND `sysctl --system` rules: is each line the one that wins at\n"
    "            boot (else the overriding file:line is named), is the file masked by a same-named\n"
    "            file higher up, does it silently override another file's value.\n"
    "Findings about the host's existing files that the proposed ones do not touch are warnings.\n\n"
    "Configuration management (the file is a temporary copy, so say where it goes):\n"
    "  Ansible:  copy: src=60-net.conf dest=/etc/sysctl.d/60-net.conf\n"
    "                  validate='tw-advisor check --dest /etc/sysctl.d/60-net.conf %s'\n"
    "  Puppet:   validate_cmd => 'tw-advisor check --dest /etc/sysctl.d/60-net.conf %'\n"
    "  Salt:     check_cmd: tw-advisor check --dest /etc/sysctl.d/60-net.conf\n"
    "  git:      tw-advisor check --root /path/to/image etc/sysctl.d/*.conf   (see doc/check.md)\n\n"
    "Exit codes: 0 clean (warnings allowed), 2 violations found (errors), 1 usage or input error\n"
    "(unreadable FILE, bad option, or a sysctl.d directory or file under --root this user cannot\n"
    "read: the answer would be incomplete). JSON: {findings: [{id, severity, file, line, key,\n"
    "message}], errors: [{path, cause}], exit_code}, printed for input errors too.\n"
    "Docs: doc/check.md.");
  cmd->callback([args, &exit_code] { run_check_or_report(*args, exit_code); });
}

} // namespace tw::cli
