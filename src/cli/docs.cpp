// The man page and the shell completion are generated from the CLI definitions themselves,
// so every subcommand and option the binary accepts is documented, and nothing else is.
#include "cli/commands.hpp"
#include "util/version.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace tw::cli {

namespace {

// Text for roff: backslashes escaped, dashes made literal, leading dots and quotes neutralised.
std::string roff(const std::string& text)
{
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

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app)
{
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::vector<const CLI::Option*> visible_options(const CLI::App& app)
{
  return app.get_options([](const CLI::Option* opt) { return !opt->get_group().empty(); });
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
  if (opt.get_type_size_max() > 0 && opt.nonpositional()) {
    names += " " + opt.get_type_name();
  }
  return names;
}

void print_options(const CLI::App& app)
{
  for (const auto* opt : visible_options(app)) {
    if (opt->get_lnames().size() == 1 && opt->get_lnames()[0] == "help") {
      continue;
    }
    std::printf(
      ".TP\n.B %s\n%s\n", roff(option_synopsis(*opt)).c_str(), roff(opt->get_description()).c_str());
    if (!opt->get_default_str().empty()) {
      std::printf("Default: %s.\n", roff(opt->get_default_str()).c_str());
    }
  }
}

// Paragraphs of free text (footers), each line kept as it is.
void print_text(const std::string& text)
{
  if (text.empty()) {
    return;
  }
  std::printf(".PP\n.nf\n%s\n.fi\n", roff(text).c_str());
}

void print_manpage(const CLI::App& app)
{
  std::printf(".TH TW-ADVISOR 8 \"\" \"tw-advisor %s\" \"System Administration\"\n", k_version);
  std::printf(
    ".SH NAME\ntw-advisor \\- decide from evidence whether net.ipv4.tcp_tw_reuse helps, and change it "
    "safely\n");
  std::printf(".SH SYNOPSIS\n.B tw-advisor\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n");
  std::printf(".SH DESCRIPTION\n%s\n", roff(app.get_description()).c_str());
  std::printf(".SH GLOBAL OPTIONS\n");
  print_options(app);
  std::printf(".SH COMMANDS\n");
  for (const auto* sub : visible_subcommands(app)) {
    std::printf(".SS %s\n%s\n", roff(sub->get_name()).c_str(), roff(sub->get_description()).c_str());
    print_options(*sub);
    for (const auto* nested : visible_subcommands(*sub)) {
      std::printf(".TP\n.B %s %s\n%s\n",
                  roff(sub->get_name()).c_str(),
                  roff(nested->get_name()).c_str(),
                  roff(nested->get_description()).c_str());
    }
    print_text(sub->get_footer());
  }
  std::printf(
    ".SH EXIT STATUS\n"
    ".TP\n.B 0\nSuccess (for plan: whatever the verdict).\n"
    ".TP\n.B 1\nAn error: the message names the key, file and line, or path, and the cause. "
    "Nothing is left half-applied.\n"
    ".TP\n.B 2\nplan \\-\\-detailed\\-exitcode: changes are proposed. check: violations were found.\n"
    ".TP\n.B 3\napply: applied, then rolled back by the watch window.\n");
  std::printf(
    ".SH ENVIRONMENT\n"
    ".TP\n.B TW_ADVISOR_DATA_DIR\nWhere the profiles/ and policies/ directories are, instead of "
    "../share/tw\\-advisor beside the binary.\n"
    ".TP\n.B NO_COLOR\nNo colour in text output even on a terminal.\n"
    ".TP\n.B TW_ADVISOR_FAILPOINT\nA test hook: apply kills itself at the named step, so that crash "
    "recovery can be tested. Never set it in production.\n");
  std::printf(
    ".SH FILES\n"
    ".TP\n.I /usr/share/tw\\-advisor/profiles/, /usr/share/tw\\-advisor/policies/\nBuilt-in profiles "
    "and policies (YAML).\n"
    ".TP\n.I /var/lib/tw\\-advisor/\nState directory: lock, journal and snapshot of the last apply.\n"
    ".TP\n.I /etc/sysctl.d/\nWhere apply persists its generated file.\n"
    ".TP\n.I /proc/sys/net/ipv4/\nThe runtime sysctls read and written.\n"
    ".TP\n.I /proc/net/netstat, /proc/net/snmp, /proc/net/sockstat\nHealth counters.\n");
  std::printf(".SH SEE ALSO\n.BR ss (8),\n.BR sysctl (8),\n.BR sysctl.d (5),\n.BR systemd\\-sysctl (8)\n");
}

void print_bash_completion(const CLI::App& app)
{
  std::string commands;
  std::string cases;
  for (const auto* sub : visible_subcommands(app)) {
    commands += sub->get_name() + " ";
    std::string opts;
    for (const auto* opt : visible_options(*sub)) {
      if (opt->get_lnames().size() == 1 && opt->get_lnames()[0] == "help") {
        continue; // added once below for every command
      }
      for (const auto& l : opt->get_lnames()) {
        opts += "--" + l + " ";
      }
      for (const auto& s : opt->get_snames()) {
        opts += "-" + s + " ";
      }
    }
    for (const auto* nested : visible_subcommands(*sub)) {
      opts += nested->get_name() + " ";
    }
    cases += "    " + sub->get_name() + ") opts=\"" + opts + "\" ;;\n";
  }
  std::printf("# bash completion for tw-advisor (generated by `tw-advisor completion bash`)\n"
              "_tw_advisor()\n{\n"
              "  local cur prev cmd opts i\n"
              "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
              "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
              "  cmd=\"\"\n"
              "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
              "    case \"${COMP_WORDS[i]}\" in -*) ;; *) cmd=\"${COMP_WORDS[i]}\"; break ;; esac\n"
              "  done\n"
              "  case \"$prev\" in\n"
              "    --format) COMPREPLY=($(compgen -W \"text json\" -- \"$cur\")); return ;;\n"
              "    --root|--state-dir) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
              "    --out|--plan|--policy|--profile|--dest|--facts) COMPREPLY=($(compgen -f -- \"$cur\")); "
              "return ;;\n"
              "  esac\n"
              "  if [ -z \"$cmd\" ]; then\n"
              "    COMPREPLY=($(compgen -W \"%s--help --version --verbose --quiet\" -- \"$cur\"))\n"
              "    return\n"
              "  fi\n"
              "  case \"$cmd\" in\n%s"
              "    *) opts=\"\" ;;\n"
              "  esac\n"
              "  COMPREPLY=($(compgen -W \"$opts --help\" -- \"$cur\"))\n"
              "  if [ \"$cmd\" = check ] && [[ \"$cur\" != -* ]]; then\n"
              "    COMPREPLY+=($(compgen -f -- \"$cur\"))\n"
              "  fi\n"
              "}\n"
              "complete -F _tw_advisor tw-advisor\n",
              commands.c_str(),
              cases.c_str());
}

} // namespace

void add_docs_commands(CLI::App& app, int& exit_code)
{
  auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash)");
  completion->footer("Install: tw-advisor completion bash > /etc/bash_completion.d/tw-advisor");
  auto* bash = completion->add_subcommand("bash", "Completion for bash");
  completion->require_subcommand(1);
  bash->callback([&app, &exit_code] {
    print_bash_completion(app);
    exit_code = 0;
  });
  // Hidden (empty group): the build runs it to write tw-advisor.8.
  auto* man = app.add_subcommand("manpage", "Print the tw-advisor(8) man page (roff)")->group("");
  man->callback([&app, &exit_code] {
    print_manpage(app);
    exit_code = 0;
  });
}

} // namespace tw::cli
