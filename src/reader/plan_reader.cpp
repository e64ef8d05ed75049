#include "reader/plan_reader.hpp"

#include "model/document.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_strict.hpp"
#include "util/strings.hpp"
#include "util/sysctl_key.hpp"

#include <cmath>
#include <set>
#include <sys/socket.h>

namespace tw {

namespace {

using nlohmann::json;

// Strict reading of a JSON document: every error names the source and the JSON path.
class Reader
{
public:
  explicit Reader(std::string source)
    : m_source(std::move(source))
  {
  }

  [[noreturn]] void fail(const std::string& path, const std::string& why) const
  {
    throw Error(m_source + ": " + (path.empty() ? "/" : path), why);
  }

  const json& field(const json& obj, const std::string& path, const char* name) const
  {
    const auto it = obj.find(name);
    if (it == obj.end()) {
      fail(path, std::string("missing field \"") + name + "\"");
    }
    return *it;
  }

  void object(const json& j, const std::string& path) const
  {
    if (!j.is_object()) {
      fail(path, std::string("expected an object, got ") + j.type_name());
    }
  }

  void array(const json& j, const std::string& path) const
  {
    if (!j.is_array()) {
      fail(path, std::string("expected an array, got ") + j.type_name());
    }
  }

  std::string text(const json& obj, const std::string& path, const char* name, bool allow_empty = true) const
  {
    const json& j = field(obj, path, name);
    const std::string p = path + "/" + name;
    if (!j.is_string()) {
      fail(p, std::string("expected a string, got ") + j.type_name());
    }
    const auto& s = j.get_ref<const std::string&>();
    if (has_control_char(s)) {
      fail(p, "control character in \"" + printable(s) + "\"");
    }
    if (!allow_empty && s.empty()) {
      fail(p, "must not be empty");
    }
    return s;
  }

  std::string text_or_null(const json& obj, const std::string& path, const char* name) const
  {
    const auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
      return {};
    }
    return text(obj, path, name);
  }

  std::uint64_t count(const json& obj, const std::string& path, const char* name) const
  {
    const json& j = field(obj, path, name);
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0)) {
      fail(path + "/" + name, std::string("expected a whole number >= 0, got ") + j.dump());
    }
    return j.get<std::uint64_t>();
  }

  double real(const json& j, const std::string& path) const
  {
    if (!j.is_number()) {
      fail(path, std::string("expected a number, got ") + j.type_name());
    }
    return j.get<double>();
  }

  bool flag(const json& obj, const std::string& path, const char* name) const
  {
    const json& j = field(obj, path, name);
    if (!j.is_boolean()) {
      fail(path + "/" + name, std::string("expected true or false, got ") + j.type_name());
    }
    return j.get<bool>();
  }

  std::vector<std::string> strings(const json& j, const std::string& path) const
  {
    array(j, path);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const std::string p = path + "/" + std::to_string(i);
      if (!j[i].is_string()) {
        fail(p, std::string("expected a string, got ") + j[i].type_name());
      }
      out.push_back(j[i].get<std::string>());
    }
    return out;
  }

  Evidence evidence(const json& j, const std::string& path) const
  {
    object(j, path);
    Evidence out;
    for (const auto& [k, v] : j.items()) {
      out[k] = real(v, path + "/" + k);
    }
    return out;
  }

private:
  std::string m_source;
};

} // namespace

namespace {

// Connection counts by state, as census_to_json writes them for a process or its destination.
ConnectionCounts connection_counts(const Reader& r, const json& j, const std::string& at)
{
  r.object(j, at);
  return { r.count(j, at, "established"), r.count(j, at, "syn_sent"), r.count(j, at, "close_wait") };
}

// The census's process attribution; recordings made before it existed have none (not walked).
ProcessAttribution attribution_from_json(const Reader& r, const json& s, const std::string& at)
{
  ProcessAttribution a;
  if (!s.contains("attribution")) {
    a.reason = "not recorded";
    return a;
  }
  const std::string ap = at + "/attribution";
  const json& j = s["attribution"];
  r.object(j, ap);
  a.walked = r.flag(j, ap, "walked");
  a.reason = r.text(j, ap, "reason");
  if (j.contains("reader")) { // how the fd tables were read: since the BPF iterator came
    a.reader = r.text(j, ap, "reader");
    a.reader_note = r.text(j, ap, "reader_note");
  }
  a.sockets_wanted = r.count(j, ap, "sockets_wanted");
  a.sockets_not_asked = r.count(j, ap, "sockets_not_asked");
  a.sockets_found = r.count(j, ap, "sockets_found");
  a.processes_scanned = r.count(j, ap, "processes_scanned");
  a.processes_vanished = r.count(j, ap, "processes_vanished");
  a.processes_unreadable = r.count(j, ap, "processes_unreadable");
  a.fds_scanned = r.count(j, ap, "fds_scanned");
  a.walk_ms = r.real(r.field(j, ap, "walk_ms"), ap + "/walk_ms");
  a.process_count = r.count(j, ap, "process_count");
  const json& list = r.field(s, at, "processes");
  r.array(list, at + "/processes");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = at + "/processes/" + std::to_string(i);
    const json& pj = list[i];
    r.object(pj, p);
    ProcessConnections pc;
    const std::uint64_t pid = r.count(pj, p, "pid");
    if (pid == 0 || pid > 0xffffffffULL) {
      r.fail(p + "/pid", "out of range 1..4294967295");
    }
    pc.pid = static_cast<std::uint32_t>(pid);
    pc.comm = r.text(pj, p, "comm");
    pc.cmdline = r.text(pj, p, "cmdline");
    pc.cgroup = r.text(pj, p, "cgroup");
    pc.container = r.text(pj, p, "container");
    pc.connections = connection_counts(r, r.field(pj, p, "connections"), p + "/connections");
    pc.oldest_close_wait_ms = r.count(pj, p, "oldest_close_wait_ms");
    const json& dl = r.field(pj, p, "destinations");
    r.array(dl, p + "/destinations");
    for (std::size_t k = 0; k < dl.size(); ++k) {
      const std::string dp = p + "/destinations/" + std::to_string(k);
      ProcessDestination d;
      d.connections = connection_counts(r, dl[k], dp);
      d.destination = r.text(dl[k], dp, "destination", false);
      const std::string role = r.text(dl[k], dp, "role");
      if (role != "inbound" && role != "outbound") {
        r.fail(dp + "/role", "expected inbound or outbound, got \"" + role + "\"");
      }
      d.inbound = role == "inbound";
      pc.destinations.push_back(std::move(d));
    }
    a.processes.push_back(std::move(pc));
  }
  return a;
}

// One destination group as census_to_json writes it (the census's and a history peak's).
DestGroup group_from_json(const Reader& r, const json& g, const std::string& p)
{
  r.object(g, p);
  DestGroup d;
  const std::string family = r.text(g, p, "family");
  if (family != "ipv4" && family != "ipv6") {
    r.fail(p + "/family", "expected \"ipv4\" or \"ipv6\", got \"" + family + "\"");
  }
  d.family = family == "ipv6" ? AF_INET6 : AF_INET;
  d.local = r.text(g, p, "local");
  d.remote = r.text(g, p, "remote");
  const std::uint64_t port = r.count(g, p, "remote_port");
  if (port > 65535) {
    r.fail(p + "/remote_port", "out of range 0..65535");
  }
  d.remote_port = static_cast<std::uint16_t>(port);
  d.in_use = r.count(g, p, "in_use");
  d.time_wait = r.count(g, p, "time_wait");
  d.usable = r.count(g, p, "usable");
  if (d.in_use > 65536) {
    r.fail(p + "/in_use", std::to_string(d.in_use) + " is more than 65536 ports");
  }
  if (d.time_wait > d.in_use) {
    r.fail(p + "/time_wait",
           std::to_string(d.time_wait) + " is more than in_use " + std::to_string(d.in_use) +
             " (TIME_WAIT ports are part of the ports in use)");
  }
  if (d.usable > 65536) {
    r.fail(p + "/usable", std::to_string(d.usable) + " is more than 65536 ports");
  }
  d.pressure = r.real(r.field(g, p, "pressure"), p + "/pressure");
  if (!(d.pressure >= 0.0 && d.pressure <= 1.0)) {
    r.fail(p + "/pressure", "out of range 0..1");
  }
  d.loopback = r.flag(g, p, "loopback");
  if (g.contains("v4_mapped")) { // absent in recordings made before it existed
    d.v4_mapped = r.count(g, p, "v4_mapped");
    if (d.v4_mapped > d.in_use) {
      r.fail(p + "/v4_mapped",
             std::to_string(d.v4_mapped) + " is more than in_use " + std::to_string(d.in_use));
    }
  }
  // Per-group timestamp evidence; recordings made before it existed have none (no sample).
  if (const auto ts = g.find("timestamps"); ts != g.end() && !ts->is_null()) {
    const std::string tp = p + "/timestamps";
    r.object(*ts, tp);
    d.outbound_established = r.count(*ts, tp, "outbound_established");
    d.with_timestamps = r.count(*ts, tp, "negotiated");
    if (d.with_timestamps > d.outbound_established) {
      r.fail(tp + "/negotiated",
             std::to_string(d.with_timestamps) + " is more than outbound_established " +
               std::to_string(d.outbound_established));
    }
  }
  return d;
}

// Other tuners' claims (facts.boot.tuners, facts.namespace_boot.tuners).
std::vector<TunerClaim> read_tuners(const Reader& r, const json& tuners, const std::string& at)
{
  r.array(tuners, at);
  std::vector<TunerClaim> out;
  for (std::size_t i = 0; i < tuners.size(); ++i) {
    const std::string p = at + "/" + std::to_string(i);
    r.object(tuners[i], p);
    out.push_back({ r.text(tuners[i], p, "owner"),
                    r.text(tuners[i], p, "key"),
                    r.text(tuners[i], p, "value"),
                    r.text(tuners[i], p, "source"),
                    r.flag(tuners[i], p, "running"),
                    r.flag(tuners[i], p, "overrides_sysctld"),
                    r.text(tuners[i], p, "effect") });
  }
  return out;
}

} // namespace

SocketCensus census_from_json(const json& s, const std::string& source)
{
  const Reader r(source);
  const std::string at = "/sockets";
  r.object(s, at);
  SocketCensus c;
  c.available = r.flag(s, at, "available");
  c.error = r.text_or_null(s, at, "error");
  const json& states = r.field(s, at, "states");
  r.object(states, at + "/states");
  for (std::size_t i = 1; i < k_tcp_state_slots; ++i) {
    if (states.contains(tcp_state_name(i))) {
      c.states[i] = r.count(states, at + "/states", tcp_state_name(i));
    }
  }
  c.total = r.count(s, at, "total");
  c.listeners = r.count(s, at, "listeners");
  const json& tw = r.field(s, at, "time_wait");
  r.object(tw, at + "/time_wait");
  c.time_wait.outbound = r.count(tw, at + "/time_wait", "outbound");
  c.time_wait.inbound = r.count(tw, at + "/time_wait", "inbound");
  c.time_wait.unknown = r.count(tw, at + "/time_wait", "unknown");
  // Recordings made before it existed have none: the unknown count holds them all then.
  if (tw.contains("outside_range")) {
    c.time_wait.outside_range = r.count(tw, at + "/time_wait", "outside_range");
    if (c.time_wait.outside_range > c.time_wait.unknown) {
      r.fail(at + "/time_wait/outside_range",
             std::to_string(c.time_wait.outside_range) + " is more than unknown " +
               std::to_string(c.time_wait.unknown) + " (they are part of the unknown sockets)");
    }
  }
  if (c.time_wait.outbound + c.time_wait.inbound + c.time_wait.unknown < c.time_wait.outbound) {
    r.fail(at + "/time_wait", "counts overflow");
  }
  const json& range = r.field(s, at, "port_range");
  if (!range.is_null()) {
    r.object(range, at + "/port_range");
    const std::uint64_t low = r.count(range, at + "/port_range", "low");
    const std::uint64_t high = r.count(range, at + "/port_range", "high");
    if (low > 65535) {
      r.fail(at + "/port_range/low", "out of range 0..65535: " + std::to_string(low));
    }
    if (high > 65535) {
      r.fail(at + "/port_range/high", "out of range 0..65535: " + std::to_string(high));
    }
    c.port_range = PortRange{ static_cast<std::uint32_t>(low), static_cast<std::uint32_t>(high) };
  }
  c.usable_ports = r.count(s, at, "usable_ports");
  if (c.usable_ports > 65536 || (c.port_range && c.usable_ports > c.port_range->size())) {
    r.fail(at + "/usable_ports",
           std::to_string(c.usable_ports) + " is more than the port range holds" +
             (c.port_range ? " (" + std::to_string(c.port_range->size()) + ")" : std::string()));
  }
  const json& groups = r.field(s, at, "groups");
  r.array(groups, at + "/groups");
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string p = at + "/groups/" + std::to_string(i);
    c.groups.push_back(group_from_json(r, groups[i], p));
  }
  c.group_count = r.count(s, at, "group_count");
  c.groups_truncated = r.flag(s, at, "groups_truncated");
  const json& ts = r.field(s, at, "timestamps");
  r.object(ts, at + "/timestamps");
  c.timestamps.outbound_established = r.count(ts, at + "/timestamps", "outbound_established");
  c.timestamps.with_timestamps = r.count(ts, at + "/timestamps", "negotiated");
  if (c.timestamps.with_timestamps > c.timestamps.outbound_established) {
    r.fail(at + "/timestamps/negotiated",
           std::to_string(c.timestamps.with_timestamps) + " is more than outbound_established " +
             std::to_string(c.timestamps.outbound_established));
  }
  if (s.contains("notes")) {
    c.notes = r.strings(s["notes"], at + "/notes");
  }
  c.processes = attribution_from_json(r, s, at);
  return c;
}

SymptomEvidence evidence_from_json(const json& j, const std::string& source)
{
  const Reader r(source);
  const std::string at = "/evidence";
  r.object(j, at);
  const auto family = [&r](const json& obj, const std::string& path) {
    std::string f = r.text(obj, path, "family");
    if (f != "ipv4" && f != "ipv6") {
      r.fail(path + "/family", "expected \"ipv4\" or \"ipv6\", got \"" + printable(f) + "\"");
    }
    return f;
  };
  SymptomEvidence e;
  const std::string name = r.text(j, at, "source");
  const auto src = evidence_source_from_string(name);
  if (!src) {
    r.fail(at + "/source", "expected \"probe\" or \"counters\", got \"" + printable(name) + "\"");
  }
  e.source = *src;
  e.reason = r.text(j, at, "reason");
  e.window_seconds = r.real(r.field(j, at, "window_seconds"), at + "/window_seconds");
  if (!std::isfinite(e.window_seconds) || e.window_seconds < 0.0) {
    r.fail(at + "/window_seconds", "expected a number >= 0");
  }
  e.dropped = r.count(j, at, "dropped");
  e.missed = j.contains("missed") ? r.count(j, at, "missed") : 0; // absent before it was counted
  e.time_wait_seen = r.count(j, at, "time_wait_seen");
  e.time_wait_capped = r.flag(j, at, "time_wait_capped");
  const auto processes = [&r](const json& list, const std::string& path) {
    r.array(list, path);
    std::vector<SymptomProcess> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string p = path + "/" + std::to_string(i);
      r.object(list[i], p);
      SymptomProcess proc;
      const std::uint64_t pid = r.count(list[i], p, "pid");
      if (pid > 0xffffffffU) {
        r.fail(p + "/pid", "out of range: " + std::to_string(pid));
      }
      proc.pid = static_cast<std::uint32_t>(pid);
      proc.comm = r.text(list[i], p, "comm");
      proc.cgroup = r.text_or_null(list[i], p, "cgroup");
      proc.cgroup_id = r.count(list[i], p, "cgroup_id");
      proc.connects = r.count(list[i], p, "connects");
      proc.eaddrnotavail = r.count(list[i], p, "eaddrnotavail");
      proc.eaddrinuse = r.count(list[i], p, "eaddrinuse");
      out.push_back(std::move(proc));
    }
    return out;
  };
  const auto latency = [&r](const json& obj, const std::string& path, const char* key) {
    const json& v = r.field(obj, path, key);
    return v.is_null() ? std::optional<double>() : std::optional<double>(r.real(v, path + "/" + key));
  };
  const json& destinations = r.field(j, at, "destinations");
  r.array(destinations, at + "/destinations");
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    const json& dj = destinations[i];
    const std::string p = at + "/destinations/" + std::to_string(i);
    r.object(dj, p);
    SymptomDestination d;
    d.destination = r.text(dj, p, "destination", false);
    d.family = family(dj, p);
    d.connect_ok = r.count(dj, p, "connect_ok");
    d.connect_eaddrnotavail = r.count(dj, p, "connect_eaddrnotavail");
    const json& errors = r.field(dj, p, "connect_errors");
    r.object(errors, p + "/connect_errors");
    for (const auto& [errno_name, n] : errors.items()) {
      d.connect_errors[errno_name] = r.count(errors, p + "/connect_errors", errno_name.c_str());
    }
    d.v4_mapped = r.count(dj, p, "v4_mapped");
    d.handshakes_ok = r.count(dj, p, "handshakes_ok");
    d.handshakes_failed = r.count(dj, p, "handshakes_failed");
    d.recycled = r.count(dj, p, "recycled");
    d.recycled_failed = r.count(dj, p, "recycled_failed");
    d.connect_us_p50 = latency(dj, p, "connect_us_p50");
    d.connect_us_p99 = latency(dj, p, "connect_us_p99");
    d.processes = processes(r.field(dj, p, "processes"), p + "/processes");
    e.destinations.push_back(std::move(d));
  }
  const json& binds = r.field(j, at, "bind_eaddrinuse");
  r.array(binds, at + "/bind_eaddrinuse");
  for (std::size_t i = 0; i < binds.size(); ++i) {
    const std::string p = at + "/bind_eaddrinuse/" + std::to_string(i);
    r.object(binds[i], p);
    SymptomBindFailure b;
    b.local = r.text(binds[i], p, "local", false);
    b.family = family(binds[i], p);
    b.count = r.count(binds[i], p, "count");
    b.processes = processes(r.field(binds[i], p, "processes"), p + "/processes");
    e.bind_eaddrinuse.push_back(std::move(b));
  }
  return e;
}

Facts facts_from_json(const json& doc, const std::string& source)
{
  const Reader r(source);
  r.object(doc, "");
  Facts f;
  f.sockets = census_from_json(r.field(doc, "", "sockets"), source);
  // A plan written before the probe existed has no evidence: counters only, as it was judged.
  f.evidence = doc.contains("evidence") ? evidence_from_json(doc["evidence"], source)
                                        : counters_evidence("not recorded in this plan");
  const json& j = r.field(doc, "", "facts");
  const std::string at = "/facts";
  r.object(j, at);
  f.host.kernel_release = r.text(j, at, "kernel");
  f.host.hostname = r.text(j, at, "hostname");
  f.host.netns_inode = r.count(j, at, "netns");
  if (j.contains("netns_kind")) { // recorded since namespaces are named (--netns, --all-netns)
    f.host.netns_kind = r.text(j, at, "netns_kind");
    if (f.host.netns_kind != "host" && f.host.netns_kind != "named" && f.host.netns_kind != "container" &&
        f.host.netns_kind != "process") {
      r.fail(at + "/netns_kind",
             "expected host, named, container or process, got \"" + f.host.netns_kind + "\"");
    }
    f.host.netns_name = r.text(j, at, "netns_name");
  }
  const json& sysctls = r.field(j, at, "sysctls");
  r.object(sysctls, at + "/sysctls");
  for (const auto& [key, v] : sysctls.items()) {
    const std::string p = at + "/sysctls/" + key;
    r.object(v, p);
    SysctlValue s;
    s.key = key;
    const std::string status = r.text(v, p, "status");
    if (status == "ok") {
      s.status = ReadStatus::ok;
      s.value = normalize_space(r.text(v, p, "value"));
    } else if (status == "absent") {
      s.status = ReadStatus::absent;
    } else if (status == "denied") {
      s.status = ReadStatus::denied;
    } else if (status == "error") {
      s.status = ReadStatus::error;
    } else {
      r.fail(p + "/status", "expected ok, absent, denied or error, got \"" + status + "\"");
    }
    s.detail = r.text_or_null(v, p, "detail");
    f.sysctls.values[key] = std::move(s);
  }
  const json& counters = r.field(j, at, "counters");
  r.object(counters, at + "/counters");
  f.counters.available = r.flag(counters, at + "/counters", "available");
  f.counters.error = r.text_or_null(counters, at + "/counters", "error");
  const json& values = r.field(counters, at + "/counters", "values");
  r.object(values, at + "/counters/values");
  for (const auto& [k, v] : values.items()) {
    f.counters.values[k] = r.count(values, at + "/counters/values", k.c_str());
  }
  if (j.contains("rates") && !j["rates"].is_null()) {
    const json& rates = j["rates"];
    const std::string p = at + "/rates";
    r.object(rates, p);
    CounterRates cr;
    cr.interval_seconds = r.real(r.field(rates, p, "interval_seconds"), p + "/interval_seconds");
    const json& per_second = r.field(rates, p, "per_second");
    r.object(per_second, p + "/per_second");
    for (const auto& [k, v] : per_second.items()) {
      cr.per_second[k] = r.real(v, p + "/per_second/" + k);
    }
    if (rates.contains("delta")) {
      r.object(rates["delta"], p + "/delta");
      for (const auto& [k, v] : rates["delta"].items()) {
        cr.delta[k] = r.count(rates["delta"], p + "/delta", k.c_str());
      }
    }
    f.rates = cr;
  }
  if (j.contains("established_trend")) { // recorded since established-growing came
    const json& t = j["established_trend"];
    const std::string p = at + "/established_trend";
    r.object(t, p);
    EstablishedTrend& e = f.established;
    e.measured = r.flag(t, p, "measured");
    e.error = r.text_or_null(t, p, "error");
    const json& offsets = r.field(t, p, "at_seconds");
    r.array(offsets, p + "/at_seconds");
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      e.at_seconds.push_back(r.real(offsets[i], p + "/at_seconds/" + std::to_string(i)));
    }
    e.destinations_counted = r.count(t, p, "destinations_counted");
    const json& list = r.field(t, p, "destinations");
    r.array(list, p + "/destinations");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string dp = p + "/destinations/" + std::to_string(i);
      r.object(list[i], dp);
      DestinationTrend d;
      d.destination = r.text(list[i], dp, "destination", false);
      const json& counts = r.field(list[i], dp, "established");
      r.array(counts, dp + "/established");
      if (counts.size() != e.at_seconds.size()) {
        r.fail(dp + "/established",
               "expected one count per at_seconds entry (" + std::to_string(e.at_seconds.size()) + "), got " +
                 std::to_string(counts.size()));
      }
      for (std::size_t k = 0; k < counts.size(); ++k) {
        const json& c = counts[k];
        if (!c.is_number_unsigned() && !(c.is_number_integer() && c.get<std::int64_t>() >= 0)) {
          r.fail(dp + "/established/" + std::to_string(k), "expected a whole number >= 0, got " + c.dump());
        }
        d.established.push_back(c.get<std::uint64_t>());
      }
      d.slope_per_second = r.real(r.field(list[i], dp, "slope_per_second"), dp + "/slope_per_second");
      e.destinations.push_back(std::move(d));
    }
  }
  const json& nat = r.field(j, at, "nat");
  const std::string np = at + "/nat";
  r.object(nat, np);
  f.nat.conntrack_available = r.flag(nat, np, "conntrack_available");
  f.nat.conntrack_note = r.text_or_null(nat, np, "conntrack_note");
  f.nat.entries_scanned = r.count(nat, np, "entries_scanned");
  f.nat.snat_entries = r.count(nat, np, "snat_entries");
  f.nat.dnat_entries = r.count(nat, np, "dnat_entries");
  f.nat.cap = r.count(nat, np, "cap");
  f.nat.cap_hit = r.flag(nat, np, "cap_hit");
  const json& present = r.field(nat, np, "nat_rules_present");
  if (!present.is_null()) {
    f.nat.nat_rules_present = r.flag(nat, np, "nat_rules_present");
  }
  f.nat.nat_rules = r.strings(r.field(nat, np, "nat_rules"), np + "/nat_rules");
  f.nat.random_fully = r.flag(nat, np, "random_fully");
  f.nat.nat_rules_note = r.text_or_null(nat, np, "nat_rules_note");
  if (j.contains("boot")) { // what sysctl.d and the apply state said, when the plan read them
    const json& b = j["boot"];
    const std::string bp = at + "/boot";
    r.object(b, bp);
    BootFacts boot;
    boot.loader = r.text(b, bp, "loader");
    const json& drift = r.field(b, bp, "drift");
    r.array(drift, bp + "/drift");
    for (std::size_t i = 0; i < drift.size(); ++i) {
      const std::string p = bp + "/drift/" + std::to_string(i);
      r.object(drift[i], p);
      BootDrift d{ r.text(drift[i], p, "key"), r.text(drift[i], p, "message"), std::nullopt };
      if (!r.field(drift[i], p, "line").is_null()) {
        d.line = r.count(drift[i], p, "line");
      }
      boot.drift.push_back(std::move(d));
    }
    boot.unreadable = r.strings(r.field(b, bp, "unreadable"), bp + "/unreadable");
    boot.generated_file = r.text(b, bp, "generated_file");
    const json& generated = r.field(b, bp, "generated");
    r.array(generated, bp + "/generated");
    for (std::size_t i = 0; i < generated.size(); ++i) {
      const std::string p = bp + "/generated/" + std::to_string(i);
      r.object(generated[i], p);
      boot.generated.emplace_back(r.text(generated[i], p, "key"), r.text(generated[i], p, "value"));
    }
    const json& overridden = r.field(b, bp, "overridden");
    r.object(overridden, bp + "/overridden");
    for (const auto& [key, why] : overridden.items()) {
      boot.overridden[key] = r.text(overridden, bp + "/overridden", key.c_str());
    }
    const json& interrupted = r.field(b, bp, "interrupted");
    if (!interrupted.is_null()) {
      const std::string p = bp + "/interrupted";
      r.object(interrupted, p);
      boot.interrupted = InterruptedApply{ r.text(interrupted, p, "id"),
                                           r.text(interrupted, p, "state"),
                                           r.text(interrupted, p, "journal") };
    }
    if (b.contains("tuners")) { // recorded since other tuners are looked for
      boot.tuners = read_tuners(r, b["tuners"], bp + "/tuners");
    }
    f.boot = std::move(boot);
  }
  if (const auto nb = j.find("namespace_boot"); nb != j.end()) { // recorded since runtimes are read
    const std::string nbp = at + "/namespace_boot";
    r.object(*nb, nbp);
    if (r.flag(*nb, nbp, "sysctl_d_reaches")) {
      r.fail(nbp + "/sysctl_d_reaches", "expected false: sysctl.d reaches the host's namespace only");
    }
    NamespaceBootFacts n;
    const json& containers = r.field(*nb, nbp, "containers");
    r.array(containers, nbp + "/containers");
    for (std::size_t i = 0; i < containers.size(); ++i) {
      const std::string p = nbp + "/containers/" + std::to_string(i);
      r.object(containers[i], p);
      n.containers.push_back({ r.text(containers[i], p, "owner", false),
                               r.text(containers[i], p, "config", false),
                               r.text_or_null(containers[i], p, "pod"),
                               r.flag(containers[i], p, "running") });
    }
    n.unreadable = r.strings(r.field(*nb, nbp, "unreadable"), nbp + "/unreadable");
    n.tuners = read_tuners(r, r.field(*nb, nbp, "tuners"), nbp + "/tuners");
    f.namespace_boot = std::move(n);
  }
  if (const auto h = j.find("history"); h != j.end()) { // plan --since: the monitor's peaks it judged
    const std::string hp = at + "/history";
    r.object(*h, hp);
    HistoryWindow w;
    w.path = r.text(*h, hp, "path");
    w.since_seconds = r.real(r.field(*h, hp, "since_seconds"), hp + "/since_seconds");
    w.read_at_unix = r.real(r.field(*h, hp, "read_at_unix"), hp + "/read_at_unix");
    w.available = r.flag(*h, hp, "available");
    w.error = r.text_or_null(*h, hp, "error");
    w.records = r.count(*h, hp, "records");
    w.skipped = r.count(*h, hp, "skipped_lines");
    for (const char* name : { "first_at_unix", "last_at_unix" }) {
      const json& v = r.field(*h, hp, name);
      if (!v.is_null()) {
        (std::string(name) == "first_at_unix" ? w.first_at_unix : w.last_at_unix) =
          r.real(v, hp + "/" + name);
      }
    }
    const json& peaks = r.field(*h, hp, "peaks");
    r.array(peaks, hp + "/peaks");
    for (std::size_t i = 0; i < peaks.size(); ++i) {
      const std::string p = hp + "/peaks/" + std::to_string(i);
      r.object(peaks[i], p);
      HistoryPeak peak;
      peak.at_unix = r.real(r.field(peaks[i], p, "at_unix"), p + "/at_unix");
      peak.group = group_from_json(r, r.field(peaks[i], p, "group"), p + "/group");
      w.peaks.push_back(std::move(peak));
    }
    const json& failures = r.field(*h, hp, "failures");
    r.array(failures, hp + "/failures");
    for (std::size_t i = 0; i < failures.size(); ++i) {
      const std::string p = hp + "/failures/" + std::to_string(i);
      r.object(failures[i], p);
      w.failures.push_back({ r.text(failures[i], p, "destination"),
                             r.count(failures[i], p, "eaddrnotavail"),
                             r.count(failures[i], p, "recycled_failed") });
    }
    f.history = std::move(w);
  }
  return f;
}

// Fields this reader does not know are accepted and ignored: a newer generator of the same
// schema_version may add some (doc/json.md). Duplicate members are refused by the parser.
Plan plan_from_json(const json& doc, const std::string& source)
{
  const Reader r(source);
  r.object(doc, "");
  const json& version = r.field(doc, "", "schema_version");
  if (const auto kind = doc.find("kind"); kind != doc.end() && *kind != to_string(DocumentKind::plan)) {
    r.fail("/kind", "expected \"plan\", got " + kind->dump() + " (give the file `plan --out` wrote)");
  }
  const int expected = schema_version(DocumentKind::plan);
  if (!version.is_number_integer() || version.get<std::int64_t>() != expected) {
    r.fail("/schema_version",
           "expected " + std::to_string(expected) + ", got " + version.dump() +
             " (a plan from another version of tw-advisor: re-run plan)");
  }
  Plan plan;
  const std::string verdict = r.text(doc, "", "verdict");
  const auto v = verdict_from_string(verdict);
  if (!v) {
    r.fail("/verdict",
           "\"" + verdict +
             "\" is not one of helps, irrelevant, already-enabled, blocked, "
             "insufficient-evidence");
  }
  plan.verdict = *v;
  plan.reasons = r.strings(r.field(doc, "", "reasons"), "/reasons");
  if (doc.contains("missing")) {
    plan.missing = r.strings(doc["missing"], "/missing");
  }
  plan.profile_id = r.text(doc, "", "profile");
  plan.policy_id = r.text(doc, "", "policy");

  const json& prereqs = r.field(doc, "", "prerequisites");
  r.array(prereqs, "/prerequisites");
  for (std::size_t i = 0; i < prereqs.size(); ++i) {
    const std::string p = "/prerequisites/" + std::to_string(i);
    r.object(prereqs[i], p);
    Prerequisite x;
    x.id = r.text(prereqs[i], p, "id", false);
    const std::string status = r.text(prereqs[i], p, "status");
    const auto st = prereq_status_from_string(status);
    if (!st) {
      r.fail(p + "/status", "\"" + status + "\" is not one of ok, warning, error");
    }
    x.status = *st;
    x.detail = r.text(prereqs[i], p, "detail");
    plan.prerequisites.push_back(std::move(x));
  }

  const json& changes = r.field(doc, "", "changes");
  r.array(changes, "/changes");
  std::set<std::string> keys;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const std::string p = "/changes/" + std::to_string(i);
    r.object(changes[i], p);
    Change c;
    c.key = r.text(changes[i], p, "key", false);
    if (!is_valid_sysctl_key(c.key)) {
      r.fail(p + "/key", "\"" + printable(c.key) + "\" is not a dotted sysctl name");
    }
    if (!keys.insert(c.key).second) {
      r.fail(p + "/key", c.key + " appears twice");
    }
    c.current = r.text(changes[i], p, "old");
    c.target = r.text(changes[i], p, "new", false);
    if (c.target != normalize_space(c.target)) {
      r.fail(p + "/new", "\"" + c.target + "\" is not whitespace-normalised as /proc/sys shows values");
    }
    c.reason = r.text(changes[i], p, "reason");
    plan.changes.push_back(std::move(c));
  }

  const json& findings = r.field(doc, "", "findings");
  r.array(findings, "/findings");
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const std::string p = "/findings/" + std::to_string(i);
    r.object(findings[i], p);
    Finding f;
    f.id = r.text(findings[i], p, "id", false);
    const std::string sev = r.text(findings[i], p, "severity");
    const auto s = severity_from_string(sev);
    if (!s) {
      r.fail(p + "/severity", "\"" + sev + "\" is not one of info, warning, error");
    }
    f.severity = *s;
    f.summary = r.text(findings[i], p, "summary");
    f.evidence = r.evidence(r.field(findings[i], p, "evidence"), p + "/evidence");
    f.rationale = r.text(findings[i], p, "rationale");
    if (findings[i].contains("told_in")) { // written since plan text says each number once
      f.told_in = r.text(findings[i], p, "told_in", false);
    }
    plan.findings.push_back(std::move(f));
  }

  const json& advice = r.field(doc, "", "advice");
  r.array(advice, "/advice");
  for (std::size_t i = 0; i < advice.size(); ++i) {
    const std::string p = "/advice/" + std::to_string(i);
    r.object(advice[i], p);
    Advice a;
    a.id = r.text(advice[i], p, "id", false);
    a.text = r.text(advice[i], p, "text");
    a.rationale = r.text(advice[i], p, "rationale");
    a.evidence = r.evidence(r.field(advice[i], p, "evidence"), p + "/evidence");
    plan.advice.push_back(std::move(a));
  }
  r.object(r.field(doc, "", "sockets"), "/sockets");
  r.object(r.field(doc, "", "facts"), "/facts");
  if (doc.contains("evidence")) { // optional: plans written before the probe have none
    (void)evidence_from_json(doc["evidence"], source);
  }
  if (doc.contains("persist")) { // optional: without changes or boot facts there is none
    const json& persist = doc["persist"];
    r.object(persist, "/persist");
    // The lines as the generated file holds them: a key is whatever sysctl.d allows there
    // (dotted or slashed, a glob), so only the shape is checked.
    const auto settings = [&](const char* name) {
      const std::string p = std::string("/persist/") + name;
      const auto lines = r.strings(r.field(persist, "/persist", name), p);
      Settings out;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        const auto eq = line.find(" = ");
        const std::string key = eq == std::string::npos ? std::string() : line.substr(0, eq);
        if (key.empty() || key.find_first_of(" \t=") != std::string::npos) {
          r.fail(p + "/" + std::to_string(i), "\"" + printable(line) + "\" is not a `key = value` line");
        }
        out.emplace_back(key, line.substr(eq + 3));
      }
      return out;
    };
    plan.persist =
      PersistPreview{ r.text(persist, "/persist", "file", false), settings("old"), settings("new") };
  }
  return plan;
}

Facts facts_from_json_file(const std::string& path)
{
  return facts_from_json(parse_json_strict(read_file_or_throw(path), path), path);
}

PlanDocument plan_document_from_json_text(const std::string& text, const std::string& source)
{
  const json doc = parse_json_strict(text, source);
  PlanDocument out;
  out.plan = plan_from_json(doc, source);
  // Where the plan was made: optional (a hand-written plan may not say), typed when present.
  const Reader r(source);
  const json& facts = doc["facts"];
  if (const auto host = facts.find("hostname"); host != facts.end()) {
    if (!host->is_string()) {
      r.fail("/facts/hostname", std::string("expected a string, got ") + host->type_name());
    }
    out.hostname = host->get<std::string>();
  }
  if (facts.contains("netns")) {
    out.netns = r.count(facts, "/facts", "netns");
  }
  if (facts.contains("netns_kind")) {
    out.netns_kind = r.text(facts, "/facts", "netns_kind");
    out.netns_name = facts.contains("netns_name") ? r.text(facts, "/facts", "netns_name") : std::string();
  }
  return out;
}

Plan plan_from_json_text(const std::string& text, const std::string& source)
{
  return plan_from_json(parse_json_strict(text, source), source);
}

} // namespace tw
