#pragma once

#include "model/severity.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw::sysctld {

// s with control characters and bytes that are not valid UTF-8 shown as \xNN: untrusted file text
// quoted in a message stays one line on a terminal and keeps JSON output valid UTF-8.
std::string escape_text(std::string_view s);

// A problem found at one line of one file (line 0: the file as a whole).
struct Problem
{
  std::string id; // stable, e.g. "not-assignment"
  Severity severity = Severity::error;
  std::string file; // as shown to the user
  unsigned line = 0;
  std::string key; // canonical key when the problem is about one, else empty
  std::string message;
};

// One meaningful line of a sysctl.d file: `key = value`, `-key = value` or `-key`.
struct Entry
{
  std::string key;                  // canonical dotted key (literal dots inside a component as '/')
  std::string raw_key;              // the key as written (without the '-' prefix)
  std::optional<std::string> value; // nullopt for an exclusion (`-key` alone)
  bool ignore_failure = false;      // `-key = value`: the loader ignores a failed write
  bool glob = false;                // the key has *, ? or [ (systemd/procps glob)
  std::string file;                 // file as shown to the user
  unsigned line = 0;                // 1-based line number

  // True for `-key` alone: excludes the key from globs.
  bool is_exclusion() const { return !value.has_value(); }
};

// A parsed file: its entries in order, and every problem with its line.
struct ParsedFile
{
  std::string file;
  std::vector<Entry> entries;
  std::vector<Problem> problems;
};

// The outcome of normalising a key the way systemd-sysctl and procps sysctl do.
struct KeyParse
{
  std::optional<std::string> key;  // canonical dotted key; nullopt when the key is unusable
  std::string error;               // why not (when key is nullopt)
  bool repeated_separator = false; // empty components were dropped ("net..ipv4", "net/ipv4/")
};

// Canonical dotted form of a sysctl key. The first separator decides the syntax, as in both
// loaders: "net/ipv4/conf/eth0.100/rp_filter" (slashes; dots are literal) and
// "net.ipv4.conf.eth0/100.rp_filter" (dots; a '/' stands for a literal dot) both become the latter.
KeyParse normalize_key(std::string_view raw);

// The path below /proc/sys for a canonical key: "net.ipv4.conf.eth0/100.rp_filter" ->
// "net/ipv4/conf/eth0.100/rp_filter".
std::string key_to_path(std::string_view key);

// True when the key has a glob character (*, ? or [), as string_is_glob() in both loaders.
bool is_glob(std::string_view key);

// True when the (canonical) glob pattern matches the (canonical) key the way glob(3) expands
// it below /proc/sys: per path component, wildcards never cross '/' and skip leading dots.
bool glob_matches(std::string_view pattern, std::string_view key);

// Parses sysctl.d text. Follows systemd-sysctl (and procps sysctl --system, which agree on these):
// whitespace is stripped around the line, key and value; a line whose first non-blank character
// is '#' or ';' is a comment; there are NO trailing comments (everything after the first '=' is
// the value, '=' and '#' included); `-key = value` ignores a failed write; `-key` alone excludes
// key from globs. `file` names the file in problems.
ParsedFile parse_sysctl_conf(std::string_view text, const std::string& file);

} // namespace tw::sysctld
