#include "report/census_json.hpp"

#include <sys/socket.h>

namespace tw {

namespace {

nlohmann::json processes_json(const std::vector<SymptomProcess>& processes)
{
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : processes) {
    out.push_back({ { "pid", p.pid },
                    { "comm", p.comm },
                    { "cgroup", p.cgroup.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.cgroup) },
                    { "cgroup_id", p.cgroup_id },
                    { "connects", p.connects },
                    { "eaddrnotavail", p.eaddrnotavail },
                    { "eaddrinuse", p.eaddrinuse } });
  }
  return out;
}

nlohmann::json optional_number(const std::optional<double>& v)
{
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

} // namespace

nlohmann::json evidence_to_json(const SymptomEvidence& evidence)
{
  nlohmann::json destinations = nlohmann::json::array();
  for (const auto& d : evidence.destinations) {
    destinations.push_back({ { "destination", d.destination },
                             { "family", d.family },
                             { "connect_ok", d.connect_ok },
                             { "connect_eaddrnotavail", d.connect_eaddrnotavail },
                             { "connect_errors", d.connect_errors },
                             { "v4_mapped", d.v4_mapped },
                             { "handshakes_ok", d.handshakes_ok },
                             { "handshakes_failed", d.handshakes_failed },
                             { "recycled", d.recycled },
                             { "recycled_failed", d.recycled_failed },
                             { "connect_us_p50", optional_number(d.connect_us_p50) },
                             { "connect_us_p99", optional_number(d.connect_us_p99) },
                             { "processes", processes_json(d.processes) } });
  }
  nlohmann::json binds = nlohmann::json::array();
  for (const auto& b : evidence.bind_eaddrinuse) {
    binds.push_back({ { "local", b.local },
                      { "family", b.family },
                      { "count", b.count },
                      { "processes", processes_json(b.processes) } });
  }
  return { { "source", to_string(evidence.source) },
           { "reason", evidence.reason },
           { "window_seconds", evidence.window_seconds },
           { "destinations", std::move(destinations) },
           { "bind_eaddrinuse", std::move(binds) },
           { "dropped", evidence.dropped },
           { "missed", evidence.missed },
           { "time_wait_seen", evidence.time_wait_seen },
           { "time_wait_capped", evidence.time_wait_capped } };
}

nlohmann::json group_to_json(const DestGroup& g)
{
  return { { "family", g.family == AF_INET6 ? "ipv6" : "ipv4" },
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
             { { "outbound_established", g.outbound_established }, { "negotiated", g.with_timestamps } } } };
}

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
    groups.push_back(group_to_json(g));
  }
  j["groups"] = std::move(groups);
  j["group_count"] = census.group_count;
  j["groups_truncated"] = census.groups_truncated;
  const auto share = census.timestamps.share();
  j["timestamps"] = { { "outbound_established", census.timestamps.outbound_established },
                      { "negotiated", census.timestamps.with_timestamps },
                      { "share", share ? nlohmann::json(*share) : nlohmann::json(nullptr) } };
  j["notes"] = census.notes;
  const ProcessAttribution& a = census.processes;
  j["attribution"] = { { "walked", a.walked },
                       { "reason", a.reason },
                       { "reader", a.reader },
                       { "reader_note", a.reader_note },
                       { "sockets_wanted", a.sockets_wanted },
                       { "sockets_not_asked", a.sockets_not_asked },
                       { "sockets_found", a.sockets_found },
                       { "processes_scanned", a.processes_scanned },
                       { "processes_vanished", a.processes_vanished },
                       { "processes_unreadable", a.processes_unreadable },
                       { "fds_scanned", a.fds_scanned },
                       { "walk_ms", a.walk_ms },
                       { "process_count", a.process_count } };
  const auto counts = [](const ConnectionCounts& c) {
    return nlohmann::json{ { "established", c.established },
                           { "syn_sent", c.syn_sent },
                           { "close_wait", c.close_wait } };
  };
  nlohmann::json processes = nlohmann::json::array();
  for (const auto& p : a.processes) {
    nlohmann::json destinations = nlohmann::json::array();
    for (const auto& d : p.destinations) {
      nlohmann::json one = counts(d.connections);
      one["destination"] = d.destination;
      one["role"] = d.inbound ? "inbound" : "outbound";
      destinations.push_back(std::move(one));
    }
    processes.push_back({ { "pid", p.pid },
                          { "comm", p.comm },
                          { "cmdline", p.cmdline },
                          { "cgroup", p.cgroup },
                          { "container", p.container },
                          { "connections", counts(p.connections) },
                          { "oldest_close_wait_ms", p.oldest_close_wait_ms },
                          { "destinations", std::move(destinations) } });
  }
  j["processes"] = std::move(processes);
  return j;
}

} // namespace tw
