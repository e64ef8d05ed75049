#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// The sysctls the advisor judges and may change, by their dotted names.
inline const std::string k_tw_reuse = "net.ipv4.tcp_tw_reuse";
inline const std::string k_tw_reuse_delay = "net.ipv4.tcp_tw_reuse_delay";
inline const std::string k_timestamps = "net.ipv4.tcp_timestamps";
inline const std::string k_port_range = "net.ipv4.ip_local_port_range";
inline const std::string k_reserved_ports = "net.ipv4.ip_local_reserved_ports";

// Whether two sysctl values are the same to the kernel: whitespace folded, and each field compared
// as a number when both are whole numbers ("01" is 1, as /proc/sys reads it back), else as text.
// One rule for apply's read-back, status drift and boot drift alike.
bool same_sysctl_value(std::string_view a, std::string_view b);

// A value range the kernel (or a policy) accepts for one key.
struct KeyRange
{
  std::string key;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::string source; // where the range comes from ("kernel", or the policy file)
};

// What the kernel accepts for the keys the advisor changes or checks (ip-sysctl.rst,
// KERNEL-NOTES.md): each number of the value must lie in the key's range.
const std::vector<KeyRange>& kernel_ranges();

// Why the kernel would refuse writing value to key (EINVAL): a number outside kernel_ranges(), an
// ip_local_port_range that is not two ports or whose low port is above its high one. nullopt when
// the kernel accepts it, or the key is not one whose rules are known here.
std::optional<std::string> kernel_value_problem(const std::string& key, const std::string& value);

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
