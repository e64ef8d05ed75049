#include "model/sysctl.hpp"

#include "util/strings.hpp"

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
  const auto text = get("net.ipv4.ip_local_port_range");
  return text ? parse_port_range(*text) : std::nullopt;
}

std::optional<std::vector<PortRange>> Sysctls::reserved_ports() const
{
  const auto text = get("net.ipv4.ip_local_reserved_ports");
  return text ? parse_port_list(*text) : std::nullopt;
}

} // namespace tw
