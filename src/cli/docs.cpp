// The man page and the shell completion are generated from the CLI definitions themselves,
// so every subcommand and option the binary accepts is documented, and nothing else is.
#include "cli/commands.hpp"
#include "config/data_dir.hpp"
#include "model/explanations.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
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
    ".TP\n.B 3\napply: applied, then rolled back by the watch window.\n"
    ".TP\n.B 4\napply, rollback: another apply or rollback holds the lock on this target; nothing was "
    "done, retry later (JSON outcome \"locked\").\n");
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
    ".TP\n.I /usr/share/tw\\-advisor/schema/\nJSON Schema of every document printed with "
    "\\-\\-format json (one header, one severity vocabulary: json.md below).\n"
    ".TP\n.I /usr/share/doc/tw\\-advisor/\nThe documentation the help names: apply.md, census.md, check.md, "
    "explain.md, json.md, netns.md, plan\\-schema.md, probe.md, profiles.md, fleet.md.\n"
    ".TP\n.I /var/lib/tw\\-advisor/\nState directory: lock, journal and snapshot of the last apply.\n"
    ".TP\n.I /etc/sysctl.d/\nWhere apply persists its generated file.\n"
    ".TP\n.I /proc/sys/net/ipv4/\nThe runtime sysctls read and written.\n"
    ".TP\n.I /proc/net/netstat, /proc/net/snmp, /proc/net/sockstat\nHealth counters.\n");
  std::printf(
    ".SH EXPLANATIONS\nWhat each id in plan and check output means (also `tw\\-advisor explain ID`).\n");
  for (const auto& e : explanations()) {
    std::printf(".SS %s %s\n", roff(e.kind).c_str(), roff(e.id).c_str());
    std::string paragraph;
    // Named: split() returns views into it, and a temporary in the range-for's initializer
    // would be gone before the loop reads them.
    const std::string body = e.body + "\n";
    for (const auto& line : split(body, '\n')) {
      if (line.empty()) {
        if (!paragraph.empty()) {
          std::printf(".PP\n%s\n", roff(paragraph).c_str());
        }
        paragraph.clear();
      } else {
        paragraph += (paragraph.empty() ? "" : "\n") + std::string(line);
      }
    }
  }
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
  std::printf(
    "# bash completion for tw-advisor (generated by `tw-advisor completion bash`)\n"
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
    "    --profile) COMPREPLY=($(compgen -W \"$(tw-advisor completion names profiles 2>/dev/null)\" -- "
    "\"$cur\") $(compgen -f -- \"$cur\")); return ;;\n"
    "    --policy) COMPREPLY=($(compgen -W \"$(tw-advisor completion names policies 2>/dev/null)\" -- "
    "\"$cur\") $(compgen -f -- \"$cur\")); return ;;\n"
    "    --out|--plan|--dest|--facts|--kernel|--dump-file|--from-dump) COMPREPLY=($(compgen -f -- "
    "\"$cur\")); return ;;\n"
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

// Profile or policy names in the data dir ("api-client", ...), one a line: what --profile and
// --policy complete to. Nothing when the data dir cannot be found.
void print_data_names(const std::string& kind)
{
  std::error_code ec;
  std::filesystem::path dir;
  try {
    dir = config::default_data_dir() / kind;
  } catch (const Error&) {
    return;
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".yaml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::printf("%s\n", n.c_str());
  }
}

// An option's description on one line, quotes and brackets made harmless, for zsh and fish.
std::string one_line(std::string text, const std::string& drop)
{
  for (char& c : text) {
    c = c == '\n' ? ' ' : c;
  }
  std::string out;
  for (const char c : text) {
    if (drop.find(c) == std::string::npos) {
      out += c;
    }
  }
  return out.size() > 70 ? out.substr(0, 67) + "..." : out;
}

// What an option's value completes to, by its name: formats, directories, files, profile or
// policy names; "" when it takes a free value.
std::string value_kind(const CLI::Option& opt)
{
  if (opt.get_expected_max() == 0 || opt.get_type_size_max() == 0) {
    return "flag"; // --yes, --force: CLI11 says so by expecting no value
  }
  const auto& names = opt.get_lnames();
  std::string name = names.empty() ? std::string() : names.front();
  if (name == "format") {
    return "format";
  }
  if (name == "root" || name == "state-dir" || name == "textfile-dir") {
    return "dir";
  }
  if (name == "profile" || name == "policy") {
    return name;
  }
  if (name == "out" || name == "plan" || name == "dest" || name == "facts" || name == "kernel" ||
      name == "dump-file" || name == "from-dump") {
    return "file";
  }
  return "value";
}

void print_zsh_completion(const CLI::App& app)
{
  std::string commands;
  std::string cases;
  for (const auto* sub : visible_subcommands(app)) {
    commands += "    '" + sub->get_name() + ":" + one_line(sub->get_description(), "'[]:") + "'\n";
    cases += "    (" + sub->get_name() + ")\n      _arguments \\\n";
    for (const auto* opt : visible_options(*sub)) {
      for (const auto& l : opt->get_lnames()) {
        const std::string kind = value_kind(*opt);
        std::string action;
        if (kind == "format") {
          action = ":format:(text json)";
        } else if (kind == "dir") {
          action = ":directory:_files -/";
        } else if (kind == "file") {
          action = ":file:_files";
        } else if (kind == "profile" || kind == "policy") {
          action = ":" + kind + ":_tw_advisor_names " + kind + "s";
        } else if (kind == "value") {
          action = ":" + l + ":";
        }
        cases += "        '--" + l + "[" + one_line(opt->get_description(), "'[]:") + "]" + action + "' \\\n";
      }
    }
    std::string nested_names;
    for (const auto* nested : visible_subcommands(*sub)) {
      nested_names += (nested_names.empty() ? "" : " ") + nested->get_name();
    }
    if (!nested_names.empty()) {
      cases += "        '1:" + sub->get_name() + ":(" + nested_names + ")' \\\n";
    }
    cases += "        '*:file:_files'\n      ;;\n";
  }
  std::printf("#compdef tw-advisor\n"
              "# zsh completion for tw-advisor (generated by `tw-advisor completion zsh`)\n"
              "_tw_advisor_names() {\n"
              "  local -a names\n"
              "  names=(${(f)\"$(tw-advisor completion names $1 2>/dev/null)\"})\n"
              "  _alternative \"names:$1:(${names[*]})\" 'files:file:_files'\n"
              "}\n"
              "_tw_advisor() {\n"
              "  local -a commands\n"
              "  commands=(\n%s  )\n"
              "  if (( CURRENT == 2 )); then\n"
              "    _describe 'command' commands\n"
              "    return\n"
              "  fi\n"
              "  local cmd=${words[2]}\n"
              "  shift words; (( CURRENT-- ))\n"
              "  case $cmd in\n%s"
              "  esac\n"
              "}\n"
              "_tw_advisor \"$@\"\n",
              commands.c_str(),
              cases.c_str());
}

void print_fish_completion(const CLI::App& app)
{
  std::printf("# fish completion for tw-advisor (generated by `tw-advisor completion fish`)\n"
              "complete -c tw-advisor -f\n");
  for (const auto* sub : visible_subcommands(app)) {
    std::printf("complete -c tw-advisor -n __fish_use_subcommand -a %s -d '%s'\n",
                sub->get_name().c_str(),
                one_line(sub->get_description(), "'").c_str());
    const std::string when = "'__fish_seen_subcommand_from " + sub->get_name() + "'";
    for (const auto* opt : visible_options(*sub)) {
      for (const auto& l : opt->get_lnames()) {
        const std::string kind = value_kind(*opt);
        std::string values;
        if (kind == "format") {
          values = " -x -a 'text json'";
        } else if (kind == "dir") {
          values = " -x -a '(__fish_complete_directories)'";
        } else if (kind == "file") {
          values = " -r -F";
        } else if (kind == "profile" || kind == "policy") {
          values = " -x -a '(tw-advisor completion names " + kind + "s 2>/dev/null; __fish_complete_path)'";
        } else if (kind == "value") {
          values = " -x";
        }
        std::printf("complete -c tw-advisor -n %s -l %s%s -d '%s'\n",
                    when.c_str(),
                    l.c_str(),
                    values.c_str(),
                    one_line(opt->get_description(), "'").c_str());
      }
    }
    for (const auto* nested : visible_subcommands(*sub)) {
      std::printf("complete -c tw-advisor -n %s -a %s\n", when.c_str(), nested->get_name().c_str());
    }
    if (sub->get_name() == "check") {
      std::printf("complete -c tw-advisor -n %s -F\n", when.c_str());
    }
  }
}

} // namespace

void add_docs_commands(CLI::App& app, int& exit_code)
{
  auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash, zsh, fish)");
  completion->footer("Install (the package installs all three):\n"
                     "  tw-advisor completion bash > /usr/share/bash-completion/completions/tw-advisor\n"
                     "  tw-advisor completion zsh > /usr/share/zsh/vendor-completions/_tw-advisor\n"
                     "  tw-advisor completion fish > /usr/share/fish/vendor_completions.d/tw-advisor.fish\n"
                     "--profile and --policy complete to the names in the data dir, other values to files.");
  auto* bash = completion->add_subcommand("bash", "Completion for bash");
  auto* zsh = completion->add_subcommand("zsh", "Completion for zsh");
  auto* fish = completion->add_subcommand("fish", "Completion for fish");
  completion->require_subcommand(1);
  bash->callback([&app, &exit_code] {
    print_bash_completion(app);
    exit_code = 0;
  });
  zsh->callback([&app, &exit_code] {
    print_zsh_completion(app);
    exit_code = 0;
  });
  fish->callback([&app, &exit_code] {
    print_fish_completion(app);
    exit_code = 0;
  });
  // Hidden (empty group): what the completion scripts ask for --profile and --policy.
  auto names_kind = std::make_shared<std::string>();
  auto* names = completion->add_subcommand("names", "Profile or policy names in the data dir")->group("");
  names->add_option("KIND", *names_kind)->required()->check(CLI::IsMember({ "profiles", "policies" }));
  names->callback([names_kind, &exit_code] {
    print_data_names(*names_kind);
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
