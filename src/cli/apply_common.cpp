#include "cli/apply_common.hpp"

#include "cli/netns_args.hpp"
#include "report/apply_report.hpp"
#include "report/plan_text.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace tw::cli {

StepPrinter::StepPrinter(bool json_stdout)
  : m_out(json_stdout ? stderr : stdout)
{
}

void StepPrinter::say(const std::string& line)
{
  end_progress();
  std::fputs((line + "\n").c_str(), m_out);
  std::fflush(m_out);
}

bool StepPrinter::confirm(const std::string& question)
{
  std::fputs((question + " [y/N] ").c_str(), m_out);
  std::fflush(m_out);
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    return false;
  }
  const auto a = trim(answer);
  return a == "y" || a == "Y" || a == "yes";
}

void StepPrinter::preview(const ApplyPreview& preview)
{
  for (const auto& line :
       apply_preview_lines(preview, m_out == stdout ? text_width_of_stdout() : text_width_of_stderr())) {
    say(line);
  }
}

void StepPrinter::end_progress()
{
  if (m_progress) {
    std::fputs("\n", stderr);
    m_progress = false;
  }
}

void StepPrinter::step(const std::string& message)
{
  constexpr std::string_view k_warning = "warning: ";
  if (message.rfind(k_warning, 0) == 0) {
    m_warnings.push_back(message.substr(k_warning.size()));
  }
  say("  " + message);
}

void StepPrinter::watch_sample(const WatchSample& sample, std::chrono::seconds total)
{
  if (::isatty(STDERR_FILENO) == 0) {
    return;
  }
  const std::string line = "\r" + watch_progress_line(sample, total, text_width_of_stderr()) + "\x1b[K";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  m_progress = true;
}

void require_root_dir(const std::string& root, const std::string& consequence)
{
  std::error_code ec;
  if (!root.empty() && !std::filesystem::is_directory(root, ec)) {
    throw Error("--root " + root, (ec ? ec.message() : std::string("not a directory")) + consequence);
  }
}

void add_root_options(CLI::App* cmd, std::string& root, std::string& state_dir, std::string& netns)
{
  add_netns_option(cmd, netns, "work in");
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

} // namespace tw::cli
