#include "model/sysctl.hpp"

#include "util/strings.hpp"

#include <algorithm>

namespace tw {

const char* to_string(ReadStatus status)
{
  switch (status) {
    case ReadStatus::ok:
      return "ok";
    case ReadStatus::absent:
      return "absent";
    case ReadStatus::denied:
      return "denied";
    case ReadStatus::error:
      return "error";
  }
  return "error";
}

std::optional<PortRange> parse_port_range(const std::string& text)
{
  const auto fields = split_ws(text);
  if (fields.size() != 2) {
    return std::nullopt;
  }
  const auto low = parse_uint(fields[0]);
  const auto high = parse_uint(fields[1]);
  if (!low || !high || *low > 65535 || *high > 65535) {
    return std::nullopt;
  }
  return PortRange{ static_cast<std::uint32_t>(*low), static_cast<std::uint32_t>(*high) };
}

bool same_sysctl_value(std::string_view a, std::string_view b)
{
  const auto fa = split_ws(a);
  const auto fb = split_ws(b);
  if (fa.size() != fb.size()) {
    return false;
  }
  for (std::size_t i = 0; i < fa.size(); ++i) {
    const auto ia = parse_int(fa[i]);
    const auto ib = parse_int(fb[i]);
    if (ia && ib ? *ia != *ib : fa[i] != fb[i]) {
      return false;
    }
  }
  return true;
}

const std::vector<KeyRange>& kernel_ranges()
{
  static const std::vector<KeyRange> k_ranges = {
    { k_tw_reuse, 0, 2, "kernel" },
    { k_timestamps, 0, 2, "kernel" },
    { k_tw_reuse_delay, 1, 60000, "kernel" },
    { "net.ipv4.tcp_syncookies", 0, 2, "kernel" },
    { "net.ipv4.tcp_max_tw_buckets", 0, 2147483647, "kernel" },
    { k_port_range, 1, 65535, "kernel" },
  };
  return k_ranges;
}

std::optional<std::string> kernel_value_problem(const std::string& key, const std::string& value)
{
  const auto range = std::find_if(
    kernel_ranges().begin(), kernel_ranges().end(), [&](const KeyRange& r) { return r.key == key; });
  if (range == kernel_ranges().end()) {
    return std::nullopt;
  }
  const std::string span = std::to_string(range->min) + ".." + std::to_string(range->max);
  const auto fields = split_ws(value);
  for (const auto field : fields) {
    const auto n = parse_int(field);
    if (!n) {
      return "\"" + std::string(field) + "\" is not a whole number (the kernel accepts " + span + ")";
    }
    if (*n < range->min || *n > range->max) {
      return std::string(field) + " is outside the kernel's range " + span;
    }
  }
  if (key == k_port_range) {
    const auto ports = parse_port_range(value);
    if (!ports) {
      return "expected two port numbers, `low high`";
    }
    if (ports->low > ports->high) {
      return "the low port " + std::to_string(ports->low) + " is above the high port " +
             std::to_string(ports->high) + " (written `low high`, e.g. \"" + std::to_string(ports->high) +
             " " + std::to_string(ports->low) + "\")";
    }
  } else if (fields.size() != 1) {
    return "expected one whole number (the kernel accepts " + span + ")";
  }
  return std::nullopt;
}

std::optional<std::vector<PortRange>> parse_port_list(const std::string& text)
{
  std::vector<PortRange> out;
  const auto body = trim(text);
  if (body.empty()) {
    return out;
  }
  for (const auto item : split(body, ',')) {
    const auto part = trim(item);
    const auto dash = part.find('-');
    const auto first = parse_uint(part.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : parse_uint(part.substr(dash + 1));
    if (!first || !last || *first > 65535 || *last > 65535 || *first > *last) {
      return std::nullopt;
    }
    out.push_back(PortRange{ static_cast<std::uint32_t>(*first), static_cast<std::uint32_t>(*last) });
  }
  return out;
}

const SysctlValue* Sysctls::find(const std::string& key) const
{
  const auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

std::optional<std::string> Sysctls::get(const std::string& key) const
{
  const auto* v = find(key);
  if (v == nullptr || v->status != ReadStatus::ok) {
    return std::nullopt;
  }
  return v->value;
}

std::optional<std::int64_t> Sysctls::get_int(const std::string& key) const
{
  const auto text = get(key);
  if (!text) {
    return std::nullopt;
  }
  return parse_int(*text);
}

std::optional<PortRange> Sysctls::local_port_range() const
{
  const auto text = get(k_port_range);
  return text ? parse_port_range(*text) : std::nullopt;
}

std::optional<std::vector<PortRange>> Sysctls::reserved_ports() const
{
  const auto text = get(k_reserved_ports);
  return text ? parse_port_list(*text) : std::nullopt;
}

} // namespace tw
