#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace tw::cli {

// `--help` laid out in the terminal's width (80 when stdout is not a terminal): every description,
// footer and the options' and commands' texts wrapped to it, continuation lines under their column.
// A paragraph whose lines all fit keeps the author's line breaks; one with a line too long is
// reflowed. An indented line (an example, a list item) is never joined to its neighbours.
// Commands inherit the formatter of the app they are added to: set it before adding them.
class HelpFormatter : public CLI::Formatter
{
public:
  // doc_dir: where doc/NAME.md is installed (see config::with_doc_dir); empty keeps doc/.
  HelpFormatter(std::size_t width, std::string doc_dir);

  std::string make_option(const CLI::Option* opt, bool is_positional) const override;
  // The value an option takes as an operator reads it: the name its definition gives it (FILE,
  // NAME|PATH|PID), a set's choices ({text,json}), a default (=text) and "..." for several. Not
  // CLI11's generic type names (TEXT, UINT), its validators' texts (":NUMBER in 0 to 100") or
  // Needs/Excludes lists: the description says those in words, and CLI11's errors name them.
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_subcommand(const CLI::App* sub) const override;
  std::string make_description(const CLI::App* app) const override;
  std::string make_footer(const CLI::App* app) const override;
  // CLI11's layout, with runs of blank lines (a hidden option group leaves one) cut to one.
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override;

private:
  std::string entry(const std::string& name, const std::string& description) const;

  // The text with the doc paths this binary can show.
  std::string docs(std::string_view text) const;

  std::size_t m_width;
  std::string m_doc_dir;
};

// text laid out in width columns as HelpFormatter does: blocks of lines separated by blank lines or
// indented lines; a block whose lines (after `first` or `rest`) all fit is kept as written, else
// reflowed. The first line starts with first, every other with rest. Pure.
std::string reflow_help(std::string_view text,
                        std::size_t width,
                        std::string_view first,
                        std::string_view rest);

} // namespace tw::cli
