// Shell completion scripts, generated from the CLI definition (see cli_docs.hpp).
#include "report/cli_docs.hpp"
#include "report/cli_walk.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace tw::report {

namespace {

// What an option's value completes to.
enum class ValueKind
{
  flag,   // takes no value
  choice, // one of a set the option checks ({text,json}): those words
  dir,
  file,
  profile,
  policy,
  netns, // --netns: the named namespaces (ip netns)
  value, // anything: no completion
};

// The words of a set an option's value must be one of, from its label ("{text,json}"); empty when
// it takes any value.
std::vector<std::string> choices_of(const CLI::Option& opt)
{
  const std::string label = value_label(opt);
  std::vector<std::string> out;
  if (label.size() < 2 || label.front() != '{' || label.back() != '}') {
    return out;
  }
  for (const auto word : split(std::string_view(label).substr(1, label.size() - 2), ',')) {
    out.emplace_back(word);
  }
  return out;
}

// By the option's name; CLI11 says a flag by expecting no value.
ValueKind value_kind(const CLI::Option& opt)
{
  if (opt.get_expected_max() == 0 || opt.get_type_size_max() == 0) {
    return ValueKind::flag;
  }
  if (!choices_of(opt).empty()) {
    return ValueKind::choice;
  }
  const auto& names = opt.get_lnames();
  const std::string name = names.empty() ? std::string() : names.front();
  if (name == "root" || name == "state-dir" || name == "textfile-dir") {
    return ValueKind::dir;
  }
  if (name == "profile") {
    return ValueKind::profile;
  }
  if (name == "policy") {
    return ValueKind::policy;
  }
  if (name == "netns") {
    return ValueKind::netns;
  }
  if (name == "out" || name == "plan" || name == "dest" || name == "facts" || name == "kernel" ||
      name == "dump-file" || name == "from-dump") {
    return ValueKind::file;
  }
  return ValueKind::value;
}

// The argument of `tw-advisor completion names` for a kind.
const char* names_of(ValueKind kind)
{
  switch (kind) {
    case ValueKind::profile:
      return "profiles";
    case ValueKind::policy:
      return "policies";
    default:
      return "netns";
  }
}

// "a b c": the words joined.
std::string words(const std::vector<std::string>& list)
{
  return fmt::format("{}", fmt::join(list, " "));
}

// An option's description on one line, shortened to 70 columns.
std::string one_line(const std::string& text)
{
  std::string out;
  for (const char c : text) {
    out += c == '\n' ? ' ' : c;
  }
  return out.size() > 70 ? out.substr(0, 67) + "..." : out;
}

// text inside a single-quoted shell word: each ' closes the quote, adds \' and reopens (zsh, bash).
std::string in_single_quotes(const std::string& text)
{
  std::string out;
  for (const char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out;
}

// A description inside zsh's _arguments "[...]": brackets and backslashes escaped, then quoted.
std::string zsh_description(const std::string& text)
{
  std::string out;
  for (const char c : one_line(text)) {
    if (c == '[' || c == ']' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return in_single_quotes(out);
}

// A description inside fish's single quotes, where \' and \\ are the only escapes.
std::string fish_description(const std::string& text)
{
  std::string out;
  for (const char c : one_line(text)) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// Each option that takes a value, by long name, with what its value completes to (the first
// definition of a name decides its kind; the choices of every definition are merged).
struct ValueSpec
{
  ValueKind kind = ValueKind::value;
  std::vector<std::string> choices;
};

std::map<std::string, ValueSpec> value_specs(const CLI::App& app)
{
  std::map<std::string, ValueSpec> out;
  for (const auto* sub : visible_subcommands(app)) {
    for (const auto* opt : visible_options(*sub)) {
      const ValueKind kind = value_kind(*opt);
      if (kind == ValueKind::flag) {
        continue;
      }
      for (const auto& l : opt->get_lnames()) {
        auto [it, fresh] = out.try_emplace(l, ValueSpec{ kind, {} });
        for (const auto& c : choices_of(*opt)) {
          if (std::find(it->second.choices.begin(), it->second.choices.end(), c) ==
              it->second.choices.end()) {
            it->second.choices.push_back(c);
          }
        }
      }
    }
  }
  return out;
}

// What a command's words that are not options complete to: check's files, explain's ids.
enum class Operands
{
  none,
  files,
  ids,
};

Operands operands_of(const CLI::App& sub)
{
  if (sub.get_name() == "check") {
    return Operands::files;
  }
  if (sub.get_name() == "explain") {
    return Operands::ids;
  }
  return Operands::none;
}

std::string bash_script(const CLI::App& app)
{
  std::string commands;
  std::string cases;
  for (const auto* sub : visible_subcommands(app)) {
    commands += sub->get_name() + " ";
    std::string opts;
    for (const auto* opt : visible_options(*sub)) {
      if (is_help_option(*opt)) {
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
  std::string values;
  for (const auto& [name, spec] : value_specs(app)) {
    std::string action;
    switch (spec.kind) {
      case ValueKind::choice:
        action = "COMPREPLY=($(compgen -W \"" + words(spec.choices) + "\" -- \"$cur\"))";
        break;
      case ValueKind::dir:
        action = "COMPREPLY=($(compgen -d -- \"$cur\"))";
        break;
      case ValueKind::file:
        action = "COMPREPLY=($(compgen -f -- \"$cur\"))";
        break;
      case ValueKind::profile:
      case ValueKind::policy:
      case ValueKind::netns: // the names; a profile or policy may also be a file
        action = std::string("COMPREPLY=($(compgen -W \"$(tw-advisor completion names ") +
                 names_of(spec.kind) + " 2>/dev/null)\" -- \"$cur\")" +
                 (spec.kind == ValueKind::netns ? "" : " $(compgen -f -- \"$cur\")") + ")";
        break;
      case ValueKind::flag:
      case ValueKind::value:
        action = "COMPREPLY=()";
        break;
    }
    values += "    --" + name + ") " + action + "; return ;;\n";
  }
  return "# bash completion for tw-advisor (generated by `tw-advisor completion bash`)\n"
         "_tw_advisor()\n{\n"
         "  local cur prev cmd opts i\n"
         "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
         "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "  cmd=\"\"\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    case \"${COMP_WORDS[i]}\" in -*) ;; *) cmd=\"${COMP_WORDS[i]}\"; break ;; esac\n"
         "  done\n"
         "  case \"$prev\" in\n" +
         values +
         "  esac\n"
         "  if [ -z \"$cmd\" ]; then\n"
         "    COMPREPLY=($(compgen -W \"" +
         commands +
         "--help --version --verbose --quiet\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  case \"$cmd\" in\n" +
         cases +
         "    *) opts=\"\" ;;\n"
         "  esac\n"
         "  COMPREPLY=($(compgen -W \"$opts --help\" -- \"$cur\"))\n"
         "  if [[ \"$cur\" != -* ]]; then\n"
         "    case \"$cmd\" in\n"
         "      check) COMPREPLY+=($(compgen -f -- \"$cur\")) ;;\n"
         "      explain) COMPREPLY+=($(compgen -W \"$(tw-advisor completion names ids 2>/dev/null)\" -- "
         "\"$cur\")) ;;\n"
         "    esac\n"
         "  fi\n"
         "}\n"
         "complete -F _tw_advisor tw-advisor\n";
}

// zsh's _arguments action for an option's value (after its "[description]").
std::string zsh_action(const CLI::Option& opt, const std::string& name)
{
  const ValueKind kind = value_kind(opt);
  switch (kind) {
    case ValueKind::flag:
      return "";
    case ValueKind::choice:
      return ":" + name + ":(" + words(choices_of(opt)) + ")";
    case ValueKind::dir:
      return ":directory:_files -/";
    case ValueKind::file:
      return ":file:_files";
    case ValueKind::profile:
    case ValueKind::policy:
      return std::string(":") + (kind == ValueKind::profile ? "profile" : "policy") + ":_tw_advisor_names " +
             names_of(kind);
    case ValueKind::netns:
      return ":namespace:_tw_advisor_netns";
    case ValueKind::value:
      return ":" + name + ":";
  }
  return "";
}

std::string zsh_script(const CLI::App& app)
{
  std::string commands;
  std::string cases;
  for (const auto* sub : visible_subcommands(app)) {
    commands += "    '" + sub->get_name() + ":" + in_single_quotes(one_line(sub->get_description())) + "'\n";
    std::vector<std::string> specs;
    for (const auto* opt : visible_options(*sub)) {
      for (const auto& l : opt->get_lnames()) {
        specs.push_back("'--" + l + "[" + zsh_description(opt->get_description()) + "]" +
                        zsh_action(*opt, l) + "'");
      }
    }
    std::string nested_names;
    for (const auto* nested : visible_subcommands(*sub)) {
      nested_names += (nested_names.empty() ? "" : " ") + nested->get_name();
    }
    if (!nested_names.empty()) {
      specs.push_back("'1:" + sub->get_name() + ":(" + nested_names + ")'");
    }
    switch (operands_of(*sub)) { // none: nothing is offered after the options
      case Operands::files:
        specs.emplace_back("'*:file:_files'");
        break;
      case Operands::ids:
        specs.emplace_back("'*:id:_tw_advisor_ids'");
        break;
      case Operands::none:
        break;
    }
    cases += "    (" + sub->get_name() + ")\n      _arguments";
    for (const auto& spec : specs) {
      cases += " \\\n        " + spec;
    }
    cases += "\n";
    cases += "      ;;\n";
  }
  return "#compdef tw-advisor\n"
         "# zsh completion for tw-advisor (generated by `tw-advisor completion zsh`)\n"
         "_tw_advisor_names() {\n"
         "  local -a names\n"
         "  names=(${(f)\"$(tw-advisor completion names $1 2>/dev/null)\"})\n"
         "  _alternative \"names:$1:(${names[*]})\" 'files:file:_files'\n"
         "}\n"
         "_tw_advisor_netns() {\n"
         "  local -a names\n"
         "  names=(${(f)\"$(tw-advisor completion names netns 2>/dev/null)\"})\n"
         "  compadd -a names\n" // a name may hold ':', which _describe would cut at
         "}\n"
         "_tw_advisor_ids() {\n"
         "  local -a ids\n"
         "  ids=(${(f)\"$(tw-advisor completion names ids 2>/dev/null)\"})\n"
         "  _describe 'explanation id' ids\n"
         "}\n"
         "_tw_advisor() {\n"
         "  local -a commands\n"
         "  commands=(\n" +
         commands +
         "  )\n"
         "  if (( CURRENT == 2 )); then\n"
         "    _describe 'command' commands\n"
         "    return\n"
         "  fi\n"
         "  local cmd=${words[2]}\n"
         "  shift words; (( CURRENT-- ))\n"
         "  case $cmd in\n" +
         cases +
         "  esac\n"
         "}\n"
         "_tw_advisor \"$@\"\n";
}

// fish's `complete` arguments for an option's value.
std::string fish_values(const CLI::Option& opt)
{
  const ValueKind kind = value_kind(opt);
  switch (kind) {
    case ValueKind::flag:
      return "";
    case ValueKind::choice:
      return " -x -a '" + words(choices_of(opt)) + "'";
    case ValueKind::dir:
      return " -x -a '(__fish_complete_directories)'";
    case ValueKind::file:
      return " -r -F";
    case ValueKind::profile:
    case ValueKind::policy:
      return std::string(" -x -a '(tw-advisor completion names ") + names_of(kind) +
             " 2>/dev/null; __fish_complete_path)'";
    case ValueKind::netns:
      return std::string(" -x -a '(tw-advisor completion names ") + names_of(kind) + " 2>/dev/null)'";
    case ValueKind::value:
      return " -x";
  }
  return "";
}

std::string fish_script(const CLI::App& app)
{
  std::string out = "# fish completion for tw-advisor (generated by `tw-advisor completion fish`)\n"
                    "complete -c tw-advisor -f\n";
  for (const auto* sub : visible_subcommands(app)) {
    out += "complete -c tw-advisor -n __fish_use_subcommand -a " + sub->get_name() + " -d '" +
           fish_description(sub->get_description()) + "'\n";
    const std::string when = "'__fish_seen_subcommand_from " + sub->get_name() + "'";
    for (const auto* opt : visible_options(*sub)) {
      for (const auto& l : opt->get_lnames()) {
        out += "complete -c tw-advisor -n " + when + " -l " + l + fish_values(*opt) + " -d '" +
               fish_description(opt->get_description()) + "'\n";
      }
    }
    for (const auto* nested : visible_subcommands(*sub)) {
      out += "complete -c tw-advisor -n " + when + " -a " + nested->get_name() + "\n";
    }
    switch (operands_of(*sub)) {
      case Operands::files:
        out += "complete -c tw-advisor -n " + when + " -F\n";
        break;
      case Operands::ids:
        out += "complete -c tw-advisor -n " + when + " -a '(tw-advisor completion names ids 2>/dev/null)'\n";
        break;
      case Operands::none:
        break;
    }
  }
  return out;
}

} // namespace

std::string completion_script(const CLI::App& app, Shell shell)
{
  switch (shell) {
    case Shell::bash:
      return bash_script(app);
    case Shell::zsh:
      return zsh_script(app);
    case Shell::fish:
      return fish_script(app);
  }
  return "";
}

} // namespace tw::report
