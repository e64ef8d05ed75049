// tw-advisor: will net.ipv4.tcp_tw_reuse help on this host? Answers from evidence, changes safely.
#include "cli/commands.hpp"
#include "cli/help_format.hpp"
#include "cli/validators.hpp"
#include "config/data_dir.hpp"
#include "facts/netns.hpp"
#include "report/document.hpp"
#include "report/plan_text.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_text.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The logger exists from the start (warnings only); -v/-q adjust it once the flags are parsed.
void setup_logging()
{
  auto logger = spdlog::stderr_color_st("tw-advisor");
  logger->set_pattern("tw-advisor: %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void set_log_level(int verbosity, bool quiet)
{
  if (quiet) {
    spdlog::set_level(spdlog::level::err);
  } else if (verbosity >= 2) {
    spdlog::set_level(spdlog::level::trace);
  } else if (verbosity == 1) {
    spdlog::set_level(spdlog::level::debug);
  }
}

// The first word that is neither a global flag nor a known command, so `tw-advisor plna`
// says what is wrong instead of "a subcommand is required".
std::string unknown_command(const CLI::App& app, int argc, char** argv)
{
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') {
      continue;
    }
    const auto subs = app.get_subcommands([&word](const CLI::App* sub) { return sub->check_name(word); });
    return subs.empty() ? word : std::string();
  }
  return {};
}

// "unexpected argument(s): --fromat json (did you mean --format?)", in the order typed; CLI11's own
// message lists them backwards.
std::string unexpected_arguments(const CLI::App& command, const std::vector<std::string>& extras)
{
  std::string out = "unexpected argument" + std::string(extras.size() == 1 ? "" : "s") + ":";
  for (const auto& word : extras) {
    out += " " + word;
  }
  for (const auto& word : extras) {
    if (word.rfind("--", 0) != 0 || word.size() < 4) {
      continue;
    }
    const std::string typed =
      word.substr(2, word.find('=') == std::string::npos ? std::string::npos : word.find('=') - 2);
    std::string best;
    std::size_t best_distance = 3; // at most two edits away
    for (const CLI::Option* option : command.get_options()) {
      for (const auto& name : option->get_lnames()) {
        const std::size_t d = tw::edit_distance(typed, name);
        if (d < best_distance) {
          best_distance = d;
          best = name;
        }
      }
    }
    if (!best.empty()) {
      out += " (did you mean --" + best + "?)";
    }
    break;
  }
  return out;
}

// The error document (doc/json.md, kind "error") on stdout.
void emit_json_error(const std::string& command,
                     const std::string& subject,
                     const std::string& reason,
                     int exit_code)
{
  nlohmann::ordered_json doc =
    tw::document_header(tw::DocumentKind::error, tw::current_host_named(std::nullopt));
  doc["command"] = command;
  doc["outcome"] = exit_code == tw::k_exit_locked ? "locked" : "error";
  doc["exit_code"] = exit_code;
  doc["error"] = { { "subject", subject }, { "reason", reason }, { "message", subject + ": " + reason } };
  std::fputs((tw::json_text(doc) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// With --format json, a command's stdout holds one document even when it fails: census, plan and
// status print this error document (apply, rollback and check print their own). Nothing when the
// command did not ask for JSON.
void print_json_error(const CLI::App& app,
                      const std::string& subject,
                      const std::string& reason,
                      int exit_code)
{
  const auto parsed = app.get_subcommands();
  if (parsed.empty()) {
    return;
  }
  const CLI::App* command = parsed.front();
  const std::string name = command->get_name();
  const CLI::Option* format = command->get_option_no_throw("--format");
  if (name == "apply" || name == "rollback" || name == "check" || format == nullptr || format->count() == 0 ||
      format->as<std::string>() != "json") {
    return;
  }
  emit_json_error(name, subject, reason, exit_code);
}

// Whether the command line asks for --format json, read from the words themselves: on a usage
// error the parser may have stopped before the option.
bool words_ask_for_json(int argc, char** argv)
{
  for (int i = 1; i < argc; ++i) {
    const std::string_view w = argv[i];
    if (w == "--format=json" ||
        (w == "--format" && i + 1 < argc && std::string_view(argv[i + 1]) == "json")) {
      return true;
    }
  }
  return false;
}

std::string command_names(const CLI::App& app)
{
  std::string names;
  for (const auto* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

int run(int argc, char** argv)
{
  CLI::App app{ "tw-advisor: decides from live evidence whether net.ipv4.tcp_tw_reuse helps on this\n"
                "host, and changes TIME_WAIT-related sysctls safely (journaled, verified, reversible).\n\n"
                "Start with `tw-advisor plan`: a dry run that changes nothing.",
                "tw-advisor" };
  // Before the commands are added: they take the app's formatter.
  // Installed, the help names the installed docs; in a build tree, the source's doc/.
  const auto doc_dir = tw::config::installed_doc_dir(tw::executable_dir());
  app.formatter(
    std::make_shared<tw::cli::HelpFormatter>(tw::text_width_of_stdout(), doc_dir ? doc_dir->string() : ""));
  app.set_version_flag("--version", std::string("tw-advisor ") + tw::k_version);
  app.require_subcommand(1);
  app.fallthrough();
  int verbosity = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbosity, "More diagnostics on stderr (repeat for more)");
  app.add_flag("-q,--quiet", quiet, "Only errors on stderr");
  app.footer("Exit codes: 0 success, 1 error; see each subcommand's --help for the others.\n"
             "Docs: README.md, tw-advisor(8).");

  int exit_code = 0;
  tw::cli::add_census_command(app, exit_code);
  tw::cli::add_plan_command(app, exit_code);
  tw::cli::add_check_command(app, exit_code);
  tw::cli::add_apply_command(app, exit_code);
  tw::cli::add_rollback_command(app, exit_code);
  tw::cli::add_status_command(app, exit_code);
  tw::cli::add_monitor_command(app, exit_code);
  tw::cli::add_explain_command(app, exit_code);
  tw::cli::add_docs_commands(app, exit_code);
  tw::cli::refuse_empty_values(app);

  setup_logging();
  app.parse_complete_callback([&] { set_log_level(verbosity, quiet); });

  if (const auto word = unknown_command(app, argc, argv); !word.empty()) {
    std::fprintf(
      stderr,
      "tw-advisor: error: unknown command '%s' (commands: %s)\nRun 'tw-advisor --help' for usage.\n",
      word.c_str(),
      command_names(app).c_str());
    return 1;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Point at the help of the command whose arguments were wrong, not only the top level.
    std::string help = "tw-advisor";
    const CLI::App* command = &app;
    for (const auto* sub = &app; sub != nullptr;) {
      const auto parsed = sub->get_subcommands();
      sub = parsed.empty() ? nullptr : parsed.front();
      if (sub != nullptr) {
        help += " " + sub->get_name();
        command = sub;
      }
    }
    std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      what = unexpected_arguments(*command, app.remaining(true));
    }
    std::fprintf(stderr, "tw-advisor: error: %s\nRun '%s --help' for usage.\n", what.c_str(), help.c_str());
    if (command != &app && words_ask_for_json(argc, argv)) {
      emit_json_error(command->get_name(), "usage", what, 1);
    }
    return 1;
  } catch (const tw::LockHeld& e) {
    std::fprintf(stderr, "tw-advisor: error: %s\n", e.what());
    print_json_error(app, e.subject(), e.reason(), tw::k_exit_locked);
    return tw::k_exit_locked;
  } catch (const tw::Error& e) {
    std::fprintf(stderr, "tw-advisor: error: %s\n", e.what());
    print_json_error(app, e.subject(), e.reason(), 1);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tw-advisor: error: internal: %s\n", e.what());
    print_json_error(app, "internal", e.what(), 1);
    return 1;
  }
  return exit_code;
}

} // namespace

int main(int argc, char** argv)
{
  // Anything that escapes run() (e.g. while building the CLI) still ends as one clear line.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tw-advisor: error: internal: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "tw-advisor: error: internal: unknown exception\n");
  }
  return 1;
}
