#include "report/census_json.hpp"

#include <sys/socket.h>

namespace tw {

nlohmann::json census_to_json(const SocketCensus& census)
{
  nlohmann::json j = nlohmann::json::object();
  j["available"] = census.available;
  j["error"] = census.available ? nlohmann::json(nullptr) : nlohmann::json(census.error);
  nlohmann::json states = nlohmann::json::object();
  for (std::size_t s = 1; s < k_tcp_state_slots; ++s) {
    states[tcp_state_name(s)] = census.states[s];
  }
  j["states"] = std::move(states);
  j["total"] = census.total;
  j["listeners"] = census.listeners;
  j["time_wait"] = { { "outbound", census.time_wait.outbound },
                     { "inbound", census.time_wait.inbound },
                     { "unknown", census.time_wait.unknown },
                     { "outside_range", census.time_wait.outside_range } };
  if (census.port_range) {
    j["port_range"] = { { "low", census.port_range->low }, { "high", census.port_range->high } };
  } else {
    j["port_range"] = nullptr;
  }
  j["usable_ports"] = census.usable_ports;
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : census.groups) {
    groups.push_back(
      { { "family", g.family == AF_INET6 ? "ipv6" : "ipv4" },
        { "local", g.local },
        { "remote", g.remote },
        { "remote_port", g.remote_port },
        { "in_use", g.in_use },
        { "time_wait", g.time_wait },
        { "usable", g.usable },
        { "pressure", g.pressure },
        { "loopback", g.loopback },
        { "v4_mapped", g.v4_mapped },
        { "timestamps",
          { { "outbound_established", g.outbound_established }, { "negotiated", g.with_timestamps } } } });
  }
  j["groups"] = std::move(groups);
  j["group_count"] = census.group_count;
  j["groups_truncated"] = census.groups_truncated;
  const auto share = census.timestamps.share();
  j["timestamps"] = { { "outbound_established", census.timestamps.outbound_established },
                      { "negotiated", census.timestamps.with_timestamps },
                      { "share", share ? nlohmann::json(*share) : nlohmann::json(nullptr) } };
  j["notes"] = census.notes;
  return j;
}

} // namespace tw
