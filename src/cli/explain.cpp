// `tw-advisor explain ID`: the full explanation of any id the tool reports (a verdict, a
// prerequisite, a finding, an advice, a check problem), from doc/explain.md embedded at build time.
#include "cli/commands.hpp"
#include "config/data_dir.hpp"
#include "model/explanations.hpp"
#include "report/cli_docs.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace tw::cli {

namespace {

struct ExplainArgs
{
  std::vector<std::string> ids;
  bool list = false;
};

// The first sentence of "What it means: ...", cut to fit `width` columns.
std::string summary(const Explanation& e, std::size_t width)
{
  std::string text = e.body;
  const std::string lead = "What it means: ";
  if (text.rfind(lead, 0) == 0) {
    text = text.substr(lead.size());
  }
  text = text.substr(0, text.find("\n\n"));
  for (char& c : text) {
    c = c == '\n' ? ' ' : c;
  }
  if (const auto stop = text.find(". "); stop != std::string::npos) {
    text = text.substr(0, stop + 1);
  }
  if (text.size() > width) {
    text = text.substr(0, width - 3) + "...";
  }
  return text;
}

void print_list()
{
  std::string kind;
  for (const auto& e : explanations()) {
    if (e.kind != kind) {
      kind = e.kind;
      std::printf("%s%s\n", kind == explanations().front().kind ? "" : "\n", kind.c_str());
    }
    // "  ports-exhausted            connect() towards ...": 2 + 27 + 1 + 50 = 80 columns
    std::string id = e.id;
    id.resize(std::max<std::size_t>(id.size(), 27), ' ');
    std::printf("  %s %s\n", id.c_str(), summary(e, 77 - id.size()).c_str());
  }
}

void run_explain(const ExplainArgs& args, int& exit_code)
{
  if (args.list) {
    print_list();
    exit_code = 0;
    return;
  }
  if (args.ids.empty()) {
    throw Error("explain",
                "give an ID (the word in brackets or after the severity in plan and check "
                "output, e.g. ports-exhausted), or --list for all of them");
  }
  // Installed, the docs a text names are the installed ones (as in --help and the man page).
  const auto doc_dir = config::installed_doc_dir(executable_dir());
  bool first = true;
  for (const auto& id : args.ids) {
    const auto found = find_explanations(id);
    if (found.empty()) {
      std::vector<std::string> ids;
      for (const auto& e : explanations()) {
        ids.push_back(e.id);
      }
      const auto near = closest_word(id, ids, 3);
      throw Error("explain " + printable(id),
                  "no such id" + (near ? " (did you mean " + *near + "?)" : std::string()) +
                    "; `tw-advisor explain --list` lists them");
    }
    for (const Explanation* e : found) {
      const std::string body = doc_dir ? report::with_doc_dir(e->body, doc_dir->string()) : e->body;
      std::printf("%s%s %s\n\n%s", first ? "" : "\n", e->kind.c_str(), e->id.c_str(), body.c_str());
      first = false;
    }
  }
  exit_code = 0;
}

} // namespace

void add_explain_command(CLI::App& app, int& exit_code)
{
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* explain = app.add_subcommand(
    "explain",
    "Explain an id the tool reports: a verdict, prerequisite, finding, advice or check problem. What\n"
    "it means, the kernel facts behind it, what to do.");
  explain
    ->add_option("ID", args->ids, "The id: ports-exhausted, tcp_timestamps, helps ... (KIND/ID for one kind)")
    ->type_name("ID");
  explain->add_flag("--list", args->list, "List every id, by kind, with one line each");
  explain->footer("Examples:\n"
                  "  tw-advisor explain ports-exhausted\n"
                  "  tw-advisor explain check/timestamps-off   (the check problem, not the finding)\n"
                  "  tw-advisor explain --list | less\n"
                  "The same texts are in tw-advisor(8), section EXPLANATIONS.");
  explain->callback([args, &exit_code] { run_explain(*args, exit_code); });
}

} // namespace tw::cli
