// tw-advisor(8), generated from the CLI definition (see cli_docs.hpp).
#include "model/explanations.hpp"
#include "report/cli_docs.hpp"
#include "report/cli_walk.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <fmt/format.h>

#include <cctype>
#include <iterator>
#include <string>

namespace tw::report {

namespace {

// Text for roff: backslashes escaped, dashes made literal, leading dots and quotes neutralised; the
// docs named where the package installs them.
std::string roff(const std::string& plain)
{
  const std::string text = with_doc_dir(plain, k_installed_doc_dir);
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) {
      out += "\\&";
    }
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

// "-f, --format FORMAT" for the man page.
std::string option_synopsis(const CLI::Option& opt)
{
  std::string names;
  for (const auto& s : opt.get_snames()) {
    names += (names.empty() ? "" : ", ") + std::string("-") + s;
  }
  for (const auto& l : opt.get_lnames()) {
    names += (names.empty() ? "" : ", ") + std::string("--") + l;
  }
  if (!opt.nonpositional()) {
    names = opt.get_name();
  }
  if (const auto label = value_label(opt); !label.empty()) {
    names += " " + label;
  }
  return names;
}

void add_options(std::string& out, const CLI::App& app)
{
  for (const auto* opt : visible_options(app)) {
    if (is_help_option(*opt)) {
      continue;
    }
    fmt::format_to(
      std::back_inserter(out), ".TP\n.B {}\n{}\n", roff(option_synopsis(*opt)), roff(opt->get_description()));
    if (!opt->get_default_str().empty()) {
      fmt::format_to(std::back_inserter(out), "Default: {}.\n", roff(opt->get_default_str()));
    }
  }
}

// Paragraphs of free text (footers), each line kept as it is.
void add_text(std::string& out, const std::string& text)
{
  if (!text.empty()) {
    fmt::format_to(std::back_inserter(out), ".PP\n.nf\n{}\n.fi\n", roff(text));
  }
}

// Paragraphs separated by blank lines, each one a .PP.
void add_paragraphs(std::string& out, const std::string& text)
{
  std::string paragraph;
  // Named: split() returns views into it; a temporary would be gone before the loop reads them.
  const std::string body = text + "\n";
  for (const auto& line : split(body, '\n')) {
    if (line.empty()) {
      if (!paragraph.empty()) {
        fmt::format_to(std::back_inserter(out), ".PP\n{}\n", roff(paragraph));
      }
      paragraph.clear();
    } else {
      paragraph += (paragraph.empty() ? "" : "\n") + std::string(line);
    }
  }
}

constexpr const char* k_exit_status =
  ".SH EXIT STATUS\n"
  ".TP\n.B 0\nSuccess (for plan: whatever the verdict).\n"
  ".TP\n.B 1\nAn error: the message names the key, file and line, or path, and the cause. "
  "Nothing is left half-applied.\n"
  ".TP\n.B 2\nplan \\-\\-detailed\\-exitcode: changes are proposed. check: violations were found.\n"
  ".TP\n.B 3\napply: applied, then rolled back by the watch window.\n"
  ".TP\n.B 4\napply, rollback: another apply or rollback holds the lock on this target; nothing was "
  "done, retry later (JSON outcome \"locked\").\n";

constexpr const char* k_environment =
  ".SH ENVIRONMENT\n"
  ".TP\n.B TW_ADVISOR_DATA_DIR\nWhere the profiles/ and policies/ directories are, instead of "
  "../share/tw\\-advisor beside the binary.\n"
  ".TP\n.B NO_COLOR\nNo colour in text output even on a terminal.\n"
  ".TP\n.B TW_ADVISOR_FAILPOINT\nA test hook: apply kills itself at the named step, so that crash "
  "recovery can be tested. Never set it in production.\n";

constexpr const char* k_files =
  ".SH FILES\n"
  ".TP\n.I /usr/share/tw\\-advisor/profiles/, /usr/share/tw\\-advisor/policies/\nBuilt-in profiles "
  "and policies (YAML).\n"
  ".TP\n.I /usr/share/tw\\-advisor/schema/\nJSON Schema of every document printed with "
  "\\-\\-format json (one header, one severity vocabulary: json.md below).\n"
  ".TP\n.I /usr/share/doc/tw\\-advisor/\nThe documentation the help names: apply.md, census.md, check.md, "
  "explain.md, json.md, netns.md, plan\\-schema.md, probe.md, profiles.md, fleet.md.\n"
  ".TP\n.I /var/lib/tw\\-advisor/\nState directory: lock, journal and snapshot of the last apply.\n"
  ".TP\n.I /etc/sysctl.d/\nWhere apply persists its generated file.\n"
  ".TP\n.I /proc/sys/net/ipv4/\nThe runtime sysctls read and written.\n"
  ".TP\n.I /proc/net/netstat, /proc/net/snmp, /proc/net/sockstat\nHealth counters.\n";

} // namespace

std::string manpage(const CLI::App& app)
{
  std::string out;
  const auto to = std::back_inserter(out);
  fmt::format_to(to, ".TH TW-ADVISOR 8 \"\" \"tw-advisor {}\" \"System Administration\"\n", k_version);
  out += ".SH NAME\ntw-advisor \\- decide from evidence whether net.ipv4.tcp_tw_reuse helps, and change it "
         "safely\n";
  out += ".SH SYNOPSIS\n.B tw-advisor\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n";
  fmt::format_to(to, ".SH DESCRIPTION\n{}\n", roff(app.get_description()));
  out += ".SH GLOBAL OPTIONS\n";
  add_options(out, app);
  out += ".SH COMMANDS\n";
  for (const auto* sub : visible_subcommands(app)) {
    fmt::format_to(to, ".SS {}\n{}\n", roff(sub->get_name()), roff(sub->get_description()));
    add_options(out, *sub);
    for (const auto* nested : visible_subcommands(*sub)) {
      fmt::format_to(to,
                     ".TP\n.B {} {}\n{}\n",
                     roff(sub->get_name()),
                     roff(nested->get_name()),
                     roff(nested->get_description()));
    }
    add_text(out, sub->get_footer());
  }
  out += k_exit_status;
  out += k_environment;
  out += k_files;
  out += ".SH EXPLANATIONS\nWhat each id in plan and check output means (also `tw\\-advisor explain ID`).\n";
  for (const auto& e : explanations()) {
    fmt::format_to(to, ".SS {} {}\n", roff(e.kind), roff(e.id));
    add_paragraphs(out, e.body);
  }
  out += ".SH SEE ALSO\n.BR ss (8),\n.BR sysctl (8),\n.BR sysctl.d (5),\n.BR systemd\\-sysctl (8)\n";
  return out;
}

std::string with_doc_dir(std::string_view text, const std::string& doc_dir)
{
  const std::string_view prefix = "doc/";
  std::string out;
  std::size_t from = 0;
  for (auto at = text.find(prefix); at != std::string_view::npos; at = text.find(prefix, at + 1)) {
    const bool word_start = at == 0 || text[at - 1] == ' ' || text[at - 1] == '\n' || text[at - 1] == '(' ||
                            text[at - 1] == '`' || text[at - 1] == '"';
    auto end = at + prefix.size();
    while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) != 0 ||
                                 text[end] == '-' || text[end] == '_')) {
      ++end;
    }
    // The package installs doc/*.md and doc/monitor-alerts.yml.
    const bool installed = text.substr(end, 3) == ".md" || text.substr(end, 4) == ".yml";
    if (!word_start || end == at + prefix.size() || !installed) {
      continue;
    }
    out.append(text.substr(from, at - from));
    out += doc_dir + "/";
    from = at + prefix.size();
  }
  out.append(text.substr(from));
  return out;
}

} // namespace tw::report
