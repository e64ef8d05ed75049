// `tw-advisor check`: the pre-check hook for configuration management. Validates proposed sysctl.d
// files against this kernel, and against the host's existing sysctl.d once merged (which file wins
// at boot under systemd-sysctl and under `sysctl --system`). Reads only.
#include "sysctld/check.hpp"

#include "cli/apply_common.hpp"
#include "cli/commands.hpp"
#include "cli/profile_args.hpp"
#include "facts/kernel_view.hpp"
#include "facts/netns.hpp"
#include "report/check.hpp"
#include "report/document.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_text.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tw::cli {

namespace {

namespace fs = std::filesystem;
using sysctld::escape_text;

struct CheckArgs
{
  std::vector<std::string> files;
  std::string dest;
  std::string root = "/";
  std::string format = "text";
  std::string proc; // --proc (tests); empty: the running kernel's
  std::string policy;
  std::string kernel;    // --kernel: `sysctl -a` of the target; empty: this kernel
  std::string listening; // --listening: the target's listening ports, with --kernel
};

// "80,443,8080" -> the ports; throws naming --listening.
std::vector<std::uint16_t> listening_ports(const std::string& text)
{
  std::vector<std::uint16_t> ports;
  for (const auto word : split(text, ',')) {
    const auto port = parse_uint(trim(word));
    if (!port || *port == 0 || *port > 65535) {
      throw Error("--listening " + printable(text),
                  "\"" + printable(word) + "\" is not a port: give TCP ports 1-65535 separated by commas");
    }
    ports.push_back(static_cast<std::uint16_t>(*port));
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

// The kernel the files are checked against: --kernel's (another machine's) or this one's.
sysctld::KernelView kernel_for(const CheckArgs& args)
{
  if (args.kernel.empty()) {
    if (!args.listening.empty()) {
      throw Error("--listening", "only with --kernel: on this host the listening ports are read live");
    }
    return args.proc.empty() ? read_live_kernel_view() : read_live_kernel_view(args.proc);
  }
  std::optional<std::vector<std::uint16_t>> ports;
  if (!args.listening.empty()) {
    ports = listening_ports(args.listening);
  }
  return kernel_view_from_sysctl_a(read_file_or_throw(args.kernel), args.kernel, std::move(ports));
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
  require_root_dir(args.root);
  std::error_code ec;
  std::vector<sysctld::ProposedFile> files;
  std::vector<bool> assumed;
  for (const auto& file : args.files) {
    if (fs::is_directory(file, ec)) {
      throw Error(file, "is a directory; give the sysctl.d files themselves");
    }
    sysctld::ProposedFile p;
    // Under configuration management FILE is a temporary copy: every line names where it goes.
    p.display = args.dest.empty() ? file : args.dest;
    p.input = file;
    p.content = read_file_or_throw(file);
    bool guessed = false;
    p.dest = args.dest.empty() ? sysctld::infer_dest(file, args.root, guessed)
                               : fs::path(args.dest).lexically_normal();
    files.push_back(std::move(p));
    assumed.push_back(guessed);
  }
  const sysctld::KernelView kernel = kernel_for(args);
  const Policy policy = load_policy_arg(args.policy);
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
  const CheckOutcome outcome{
    files, assumed, report, kernel.listening.has_value(), kernel.listening_note, args.root, errors, exit_code
  };
  const std::string out =
    args.format == "json"
      ? json_text(
          make_document(DocumentKind::check, current_host_named(std::nullopt), check_to_json(outcome))) +
          "\n"
      : check_to_text(outcome);
  std::fputs(out.c_str(), stdout);
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
    const auto doc = make_document(
      DocumentKind::check,
      current_host_named(std::nullopt),
      check_input_error_json(args.root, args.files, args.dest.empty(), { e.subject(), e.reason() }));
    std::fputs((json_text(doc) + "\n").c_str(), stdout);
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
  cmd
    ->add_option("--dest",
                 args->dest,
                 "Absolute path where FILE will be installed on the target (under --root), e.g.\n"
                 "/etc/sysctl.d/60-net.conf. Default: FILE's own path when it is in a sysctl.d\n"
                 "directory, else /etc/sysctl.d/<FILE's name>")
    ->type_name("PATH");
  cmd->add_option("--root", args->root, "Root of the target's file system (sysctl.d trees are read under it)")
    ->type_name("DIR")
    ->capture_default_str();
  cmd->add_option("--format", args->format, "Output format")
    ->check(CLI::IsMember({ "text", "json" }))
    ->capture_default_str();
  cmd
    ->add_option("--policy",
                 args->policy,
                 "Policy whose guardrails (allowed value ranges) the values must respect\n"
                 "(default: the installed policies/default.yaml)")
    ->type_name("PATH");
  cmd
    ->add_option("--kernel",
                 args->kernel,
                 "Check against another machine's kernel: FILE holds `sysctl -a` run there (its keys\n"
                 "and values), for a CI runner that is not the target; `sysctl -a 2>&1` as non-root\n"
                 "is fine (a key it could not read is still the target's)")
    ->type_name("FILE");
  cmd
    ->add_option("--listening",
                 args->listening,
                 "With --kernel: the target's listening TCP ports (e.g. from `ss -Hltn`), so a port\n"
                 "range that covers one is caught")
    ->type_name("PORT,PORT...");
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
    "            validate='tw-advisor check --dest /etc/sysctl.d/60-net.conf %s'\n"
    "  Puppet:   validate_cmd =>\n"
    "            'tw-advisor check --dest /etc/sysctl.d/60-net.conf %'\n"
    "  Salt:     check_cmd: tw-advisor check --dest /etc/sysctl.d/60-net.conf\n"
    "  git:      tw-advisor check --root /path/to/image etc/sysctl.d/*.conf\n"
    "  CI:       ssh target sysctl -a > target.sysctl\n"
    "            tw-advisor check --kernel target.sysctl --listening 22,443 \\\n"
    "              --root image 60-net.conf\n"
    "With --dest every message names the destination, not the temporary copy.\n\n"
    "Exit codes: 0 clean (warnings allowed), 2 violations found (errors), 1 usage or input error\n"
    "(unreadable FILE, bad option, or a sysctl.d directory or file under --root this user cannot\n"
    "read: the answer would be incomplete). JSON: {findings: [{id, severity, file, line, key,\n"
    "message}], errors: [{path, cause}], exit_code}, printed for input errors too.\n"
    "Docs: doc/check.md.");
  cmd->callback([args, &exit_code] { run_check_or_report(*args, exit_code); });
}

} // namespace tw::cli
