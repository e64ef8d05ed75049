#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// How reading one value from the kernel went. Expected problems are values, not exceptions.
enum class ReadStatus
{
  ok,     // read and parsed
  absent, // the running kernel has no such key or file (ENOENT)
  denied, // EACCES / EPERM
  error,  // any other errno, or content that would not parse
};

// "ok", "absent", "denied", "error".
const char* to_string(ReadStatus status);

// One /proc/sys value as read.
struct SysctlValue
{
  std::string key; // dotted name: net.ipv4.tcp_tw_reuse
  ReadStatus status = ReadStatus::absent;
  std::string value;  // whitespace folded to single spaces, as /proc/sys shows it (when ok)
  int error = 0;      // errno for denied/error
  std::string detail; // parse problem or errno text, for the report
};

// An inclusive port range, as ip_local_port_range holds it.
struct PortRange
{
  std::uint32_t low = 0;
  std::uint32_t high = 0;

  // Number of ports in [low, high]; 0 when inverted.
  std::uint32_t size() const { return high >= low ? high - low + 1 : 0; }
  // True when port lies in [low, high].
  bool contains(std::uint32_t port) const { return port >= low && port <= high; }
};

// "32768 60999" (tabs or spaces) into a range; nullopt when malformed.
std::optional<PortRange> parse_port_range(const std::string& text);

// "1000-1010,2000" (ip_local_reserved_ports) into ranges; nullopt when malformed. Empty text is {}.
std::optional<std::vector<PortRange>> parse_port_list(const std::string& text);

// The sysctls read from one network namespace, keyed by dotted name.
struct Sysctls
{
  std::map<std::string, SysctlValue> values;

  // The entry for key, or nullptr when it was never asked for.
  const SysctlValue* find(const std::string& key) const;
  // The value when it was read and is a whole integer.
  std::optional<std::int64_t> get_int(const std::string& key) const;
  // The value text when it was read.
  std::optional<std::string> get(const std::string& key) const;
  // net.ipv4.ip_local_port_range, parsed.
  std::optional<PortRange> local_port_range() const;
  // net.ipv4.ip_local_reserved_ports, parsed.
  std::optional<std::vector<PortRange>> reserved_ports() const;
};

} // namespace tw
