// tw-advisor: will net.ipv4.tcp_tw_reuse help on this host? Answers from evidence, changes safely.
#include "cli/commands.hpp"
#include "util/error.hpp"
#include "util/version.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

namespace {

void setup_logging(int verbosity, bool quiet)
{
  auto logger = spdlog::stderr_color_st("tw-advisor");
  logger->set_pattern("tw-advisor: %l: %v");
  if (quiet) {
    logger->set_level(spdlog::level::err);
  } else if (verbosity >= 2) {
    logger->set_level(spdlog::level::trace);
  } else if (verbosity == 1) {
    logger->set_level(spdlog::level::debug);
  } else {
    logger->set_level(spdlog::level::warn);
  }
  spdlog::set_default_logger(logger);
}

int run(int argc, char** argv)
{
  CLI::App app{ "tw-advisor: decides from live evidence whether net.ipv4.tcp_tw_reuse helps on this\n"
                "host, and changes TIME_WAIT-related sysctls safely (journaled, verified, reversible).\n\n"
                "Start with `tw-advisor plan`: a dry run that changes nothing.",
                "tw-advisor" };
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
  tw::cli::add_apply_commands(app, exit_code);
  tw::cli::add_docs_commands(app, exit_code);

  app.parse_complete_callback([&] { setup_logging(verbosity, quiet); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tw-advisor: error: %s\nRun 'tw-advisor --help' for usage.\n", e.what());
    return 1;
  } catch (const tw::Error& e) {
    std::fprintf(stderr, "tw-advisor: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tw-advisor: error: internal: %s\n", e.what());
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
