#include "cli/help_format.hpp"

#include "report/cli_docs.hpp"
#include "report/cli_walk.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <utility>
#include <vector>

namespace tw::cli {

namespace {

// The fewest columns an option's text gets beside its name before it moves under the name.
constexpr std::size_t k_min_text_width = 30;

std::size_t indent_of(std::string_view line)
{
  const auto first = line.find_first_not_of(' ');
  return first == std::string_view::npos ? 0 : first;
}

// Where the text of an indented line starts: after a run of two or more spaces that follows its
// first word (a table row: "  helps     outbound TIME_WAIT ..."), else at its indentation.
std::size_t text_column(std::string_view line)
{
  const std::size_t indent = indent_of(line);
  const std::size_t gap = line.find("  ", indent);
  if (gap == std::string_view::npos) {
    return indent;
  }
  const std::size_t text = line.find_first_not_of(' ', gap);
  return text == std::string_view::npos ? indent : text;
}

} // namespace

std::string reflow_help(std::string_view text,
                        std::size_t width,
                        std::string_view first,
                        std::string_view rest)
{
  std::string out;
  bool at_start = true;
  const auto prefix = [&]() -> std::string_view { return at_start ? first : rest; };
  // Lines kept together: a paragraph of unindented lines, or one indented line (a list item, a
  // table row) with the lines under its text column that continue it.
  std::vector<std::string_view> block;
  std::size_t column = 0; // the block's text column (0: a paragraph)
  std::size_t indent = 0; // an indented block's own indentation
  const auto flush = [&] {
    if (block.empty()) {
      return;
    }
    bool fits = true;
    std::string joined;
    for (std::size_t i = 0; i < block.size(); ++i) {
      fits = fits && visible_width(block[i]) + (i == 0 ? prefix() : rest).size() <= width;
      const std::string_view words = i == 0 ? block[i].substr(column) : block[i].substr(indent_of(block[i]));
      joined += i == 0 ? "" : " ";
      joined += words;
    }
    if (fits) { // as the author laid it out
      for (const auto line : block) {
        out += prefix();
        out += line;
        out += '\n';
        at_start = false;
      }
    } else {
      // Continuation lines under the text column, or two columns in when that leaves too little.
      const std::size_t hang = rest.size() + column + 20 <= width ? column : indent + 2;
      const std::string lead = std::string(prefix()) + std::string(block[0].substr(0, column));
      out += wrap_text(joined, width, lead, std::string(rest) + std::string(column == 0 ? 0 : hang, ' '));
      at_start = false;
    }
    block.clear();
  };
  for (const auto line : split(text, '\n')) {
    if (line.empty()) {
      flush();
      out += '\n';
      at_start = false;
      continue;
    }
    const std::size_t here = indent_of(line);
    if (here == 0) {
      if (!block.empty() && column != 0) {
        flush();
      }
      column = 0;
      block.push_back(line);
      continue;
    }
    if (!block.empty() && column != 0 && here == column) { // continues the row above
      block.push_back(line);
      continue;
    }
    flush();
    block.push_back(line);
    indent = here;
    column = text_column(line);
  }
  flush();
  return out;
}

HelpFormatter::HelpFormatter(std::size_t width, std::string doc_dir)
  : m_width(width)
  , m_doc_dir(std::move(doc_dir))
{
}

std::string HelpFormatter::docs(std::string_view text) const
{
  return m_doc_dir.empty() ? std::string(text) : report::with_doc_dir(text, m_doc_dir);
}

std::string HelpFormatter::entry(const std::string& name, const std::string& description) const
{
  // A narrow terminal leaves too little beside the names: the text goes under each name instead.
  const std::size_t column = m_width >= get_column_width() + k_min_text_width ? get_column_width() : 6;
  const std::string label = "  " + name;
  if (description.empty()) {
    return label + "\n";
  }
  const std::string under(column, ' ');
  if (label.size() + 1 > column) { // the name takes the line: the text starts under its column
    return label + "\n" + reflow_help(docs(description), m_width, under, under);
  }
  return reflow_help(docs(description), m_width, label + std::string(column - label.size(), ' '), under);
}

std::string HelpFormatter::make_option(const CLI::Option* opt, bool is_positional) const
{
  return entry(make_option_name(opt, is_positional) + make_option_opts(opt), make_option_desc(opt));
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const
{
  if (!opt->get_option_text().empty()) {
    return " " + opt->get_option_text();
  }
  const std::string label = report::value_label(*opt);
  if (label.empty() && opt->nonpositional()) {
    return {}; // a flag
  }
  std::string out = label.empty() ? "" : " " + label;
  if (!opt->get_default_str().empty()) {
    out += "=" + opt->get_default_str();
  }
  if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) {
    out += " ...";
  }
  if (opt->get_required() && opt->nonpositional()) {
    out += " (required)";
  }
  return out;
}

std::string HelpFormatter::make_subcommand(const CLI::App* sub) const
{
  return entry(sub->get_display_name(true), sub->get_description());
}

std::string HelpFormatter::make_description(const CLI::App* app) const
{
  const std::string text = CLI::Formatter::make_description(app);
  return text.empty() ? text : reflow_help(docs(text.substr(0, text.size() - 1)), m_width, "", "");
}

std::string HelpFormatter::make_footer(const CLI::App* app) const
{
  const std::string text = app->get_footer();
  return text.empty() ? text : reflow_help(docs(text), m_width, "", "");
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const
{
  std::string text = CLI::Formatter::make_help(app, std::move(name), mode);
  for (std::size_t at = text.find("\n\n\n"); at != std::string::npos; at = text.find("\n\n\n", at)) {
    text.erase(at, 1);
  }
  return text;
}

} // namespace tw::cli
