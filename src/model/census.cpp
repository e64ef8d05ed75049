#include "model/census.hpp"

#include <algorithm>
#include <sys/socket.h>

namespace tw {

const char* tcp_state_name(std::size_t state)
{
  static constexpr std::array<const char*, k_tcp_state_slots> k_names = {
    "unknown",     "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2",    "time-wait",
    "unconnected", "close-wait",  "last-ack", "listen",   "closing",    "syn-recv-mini",
  };
  return state < k_names.size() ? k_names[state] : "unknown";
}

const DestGroup* most_pressured(const SocketCensus& census)
{
  const auto& groups = census.groups;
  const auto top = std::max_element(groups.begin(), groups.end(), [](const DestGroup& a, const DestGroup& b) {
    return a.pressure < b.pressure;
  });
  return top == groups.end() ? nullptr : &*top;
}

std::string endpoint_text(int family, const std::string& address, unsigned port)
{
  return (family == AF_INET6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::string v4_mapped_note(const DestGroup& group)
{
  if (group.v4_mapped == 0) {
    return {};
  }
  if (group.v4_mapped >= group.in_use) {
    return " (AF_INET6 sockets, v4-mapped)";
  }
  return " (" + std::to_string(group.v4_mapped) + " of " + std::to_string(group.in_use) +
         " sockets AF_INET6, v4-mapped)";
}

std::optional<double> TimestampShare::share() const
{
  if (outbound_established == 0) {
    return std::nullopt;
  }
  return static_cast<double>(with_timestamps) / static_cast<double>(outbound_established);
}

} // namespace tw
