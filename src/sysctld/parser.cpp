#include "sysctld/parser.hpp"

#include "util/strings.hpp"

#include <fmt/format.h>

#include <fnmatch.h>
#include <map>

namespace tw::sysctld {

namespace {

// isspace() in the C locale: what both loaders strip.
bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool has_space(std::string_view s)
{
  for (const char c : s) {
    if (is_space(c)) {
      return true;
    }
  }
  return false;
}

// A control character other than tab (tabs separate fields, as in ip_local_port_range).
bool has_bad_control_char(std::string_view s)
{
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return true;
    }
  }
  return false;
}

// True when the value carries what looks like a trailing comment: " # ..." or " ; ...".
bool looks_like_trailing_comment(std::string_view value)
{
  for (std::size_t i = 0; i < value.size(); ++i) {
    if ((value[i] == '#' || value[i] == ';') && (i == 0 || is_space(value[i - 1]))) {
      return true;
    }
  }
  return false;
}

} // namespace

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (no overlongs, surrogates or > U+10FFFF), 0 if none.
std::size_t utf8_sequence(std::string_view s, std::size_t i)
{
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0U) == 0x80U; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) {
    return cont(1) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2) || (c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) {
      return 0;
    }
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3) || (c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) {
      return 0;
    }
    return 4;
  }
  return 0;
}

} // namespace

std::string escape_text(std::string_view s)
{
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u < 0x7f) {
      out += s[i++];
      continue;
    }
    const std::size_t n = u >= 0x80 ? utf8_sequence(s, i) : 0;
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    out += fmt::format("\\x{:02x}", static_cast<unsigned>(u));
    ++i;
  }
  return out;
}

KeyParse normalize_key(std::string_view raw)
{
  KeyParse out;
  if (raw.empty()) {
    out.error = "the key is empty";
    return out;
  }
  if (has_control_char(raw)) {
    out.error = "the key has a control character: " + escape_text(raw);
    return out;
  }
  if (has_space(raw)) {
    out.error = "the key has whitespace inside it";
    return out;
  }
  const auto first_sep = raw.find_first_of("./");
  const bool slash_form = first_sep != std::string_view::npos && raw[first_sep] == '/';
  const char sep = slash_form ? '/' : '.';
  std::string canonical;
  for (const auto part : split(raw, sep)) {
    if (part.empty()) {
      out.repeated_separator = true;
      continue;
    }
    std::string component(part);
    if (!slash_form) {
      // In dotted form a '/' stands for a literal dot inside a component (eth0/100 is eth0.100).
      for (auto& c : component) {
        if (c == '/') {
          c = '.';
        }
      }
    }
    if (component == "." || component == "..") {
      out.error = "the key has a '" + component + "' path component";
      return out;
    }
    for (auto& c : component) {
      if (c == '.') {
        c = '/';
      }
    }
    if (!canonical.empty()) {
      canonical += '.';
    }
    canonical += component;
  }
  if (canonical.empty()) {
    out.error = "the key has no name, only separators";
    return out;
  }
  out.key = canonical;
  return out;
}

std::string key_to_path(std::string_view key)
{
  std::string out(key);
  for (auto& c : out) {
    if (c == '.') {
      c = '/';
    } else if (c == '/') {
      c = '.';
    }
  }
  return out;
}

bool is_glob(std::string_view key)
{
  return key.find_first_of("*?[") != std::string_view::npos;
}

bool glob_matches(std::string_view pattern, std::string_view key)
{
  const auto p = key_to_path(pattern);
  const auto k = key_to_path(key);
  return ::fnmatch(p.c_str(), k.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0;
}

ParsedFile parse_sysctl_conf(std::string_view text, const std::string& file)
{
  ParsedFile out;
  out.file = file;
  std::map<std::string, unsigned> first_line; // key -> line of its last assignment in this file
  unsigned line_no = 0;
  const auto problem = [&](const char* id, Severity severity, const std::string& key, std::string message) {
    out.problems.push_back(Problem{ id, severity, file, line_no, key, std::move(message) });
  };
  const auto lines = split(text, '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i + 1 == lines.size() && lines[i].empty()) {
      break; // the newline that ends the last line does not start another
    }
    ++line_no;
    const auto line = trim(lines[i]);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      continue;
    }
    Entry entry;
    entry.file = file;
    entry.line = line_no;
    std::string_view key_part;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      if (line.front() != '-') {
        problem("not-assignment",
                Severity::error,
                {},
                "not a `key = value` line, and not a `-key` exclusion: both loaders skip it: " +
                  escape_text(line));
        continue;
      }
      key_part = line.substr(1);
    } else {
      key_part = line.substr(0, eq);
      if (key_part.front() == '-') {
        entry.ignore_failure = true;
        key_part.remove_prefix(1);
      }
      entry.value = std::string(trim(line.substr(eq + 1)));
    }
    if (!key_part.empty() && is_space(key_part.front())) {
      // procps strips only the right side of the key after the '-': " net.x" is a different path.
      problem("dash-space",
              Severity::error,
              std::string(trim(key_part)),
              "whitespace between '-' and the key: systemd-sysctl strips it, procps `sysctl --system` "
              "does not and then fails to find the key; write `-" +
                std::string(trim(key_part)) + "`");
    }
    key_part = trim(key_part);
    entry.raw_key = std::string(key_part);
    const auto parsed = normalize_key(key_part);
    if (!parsed.key) {
      problem(key_part.empty() ? "empty-key" : "bad-key",
              Severity::error,
              {},
              (key_part.empty() ? std::string("no key before '='") : "key `" + escape_text(key_part) + "`") +
                ": " + parsed.error);
      continue;
    }
    entry.key = *parsed.key;
    entry.glob = is_glob(entry.key);
    if (parsed.repeated_separator) {
      problem("repeated-separator",
              Severity::warning,
              entry.key,
              "key `" + std::string(key_part) + "` has repeated, leading or trailing separators; read as " +
                entry.key);
    }
    if (entry.value) {
      const auto& value = *entry.value;
      if (has_bad_control_char(value)) {
        problem("bad-value",
                Severity::error,
                entry.key,
                entry.key + ": the value has a control character: " + escape_text(value));
        continue;
      }
      if (value.empty()) {
        problem("empty-value",
                Severity::warning,
                entry.key,
                entry.key + ": empty value: the loader writes an empty string (numeric keys reject it)");
      }
      if (looks_like_trailing_comment(value)) {
        problem("trailing-comment",
                Severity::warning,
                entry.key,
                entry.key + " = " + value +
                  ": sysctl.d has no trailing comments; the whole text after '=' is written to the "
                  "kernel. Put the comment on its own line");
      }
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
          value.back() == value.front()) {
        problem("quoted-value",
                Severity::warning,
                entry.key,
                entry.key + " = " + value + ": quotes are not removed; the kernel receives them");
      }
    }
    if (!entry.glob && entry.value) {
      const auto it = first_line.find(entry.key);
      if (it != first_line.end()) {
        problem("duplicate-key",
                Severity::warning,
                entry.key,
                entry.key + " is also set at line " + std::to_string(it->second) +
                  " of this file; this later line wins");
      }
      first_line[entry.key] = line_no;
    }
    out.entries.push_back(std::move(entry));
  }
  return out;
}

} // namespace tw::sysctld
