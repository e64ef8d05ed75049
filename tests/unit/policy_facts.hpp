#pragma once
// In-memory Facts for the policy engine tests: a healthy default host that each test bends.

#include "model/facts.hpp"
#include "model/plan.hpp"

#include <algorithm>
#include <string>
#include <sys/socket.h>

namespace tw::test {

// Sets a sysctl as read successfully, whitespace folded as /proc/sys shows it.
inline void set_sysctl(Facts& f, const std::string& key, const std::string& value)
{
  SysctlValue v;
  v.key = key;
  v.status = ReadStatus::ok;
  v.value = value;
  f.sysctls.values[key] = v;
}

// Marks a sysctl as not read the way the reader reports it (absent, denied ...).
inline void set_unreadable(Facts& f, const std::string& key, ReadStatus status, const std::string& detail)
{
  SysctlValue v;
  v.key = key;
  v.status = status;
  v.detail = detail;
  f.sysctls.values[key] = v;
}

// The plan's reasons, one per line, for test messages and searches.
inline std::string all_reasons(const Plan& p)
{
  std::string s;
  for (const auto& r : p.reasons) {
    s += r + "\n";
  }
  return s;
}

// A host with kernel defaults except tw_reuse=0, an empty census and no NAT.
inline Facts base_facts()
{
  Facts f;
  f.host.kernel_release = "6.8.0-test";
  f.host.hostname = "testhost";
  f.host.netns_inode = 4026531840;
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "0");
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "1000");
  set_sysctl(f, "net.ipv4.tcp_timestamps", "1");
  set_sysctl(f, "net.ipv4.ip_local_port_range", "32768 60999");
  set_sysctl(f, "net.ipv4.ip_local_reserved_ports", "");
  set_sysctl(f, "net.ipv4.tcp_max_tw_buckets", "262144");
  set_unreadable(f, "net.ipv4.tcp_tw_recycle", ReadStatus::absent, "no such key on this kernel");
  f.sockets.available = true;
  f.sockets.port_range = PortRange{ 32768, 60999 };
  f.sockets.usable_ports = 28232;
  f.counters.available = true;
  f.counters.values = { { "TcpExt.TW", 0 }, { "TcpExt.TWRecycled", 0 }, { "TcpExt.TCPTimeWaitOverflow", 0 } };
  f.nat.conntrack_available = true;
  f.nat.entries_scanned = 12;
  f.nat.cap = 200000;
  f.nat.nat_rules_present = false;
  f.nat.nat_rules_note = "nftables over netlink";
  return f;
}

// Sets a narrower port range in both the sysctls and the census.
inline void set_port_range(Facts& f, std::uint32_t low, std::uint32_t high)
{
  set_sysctl(f, "net.ipv4.ip_local_port_range", std::to_string(low) + " " + std::to_string(high));
  f.sockets.port_range = PortRange{ low, high };
  f.sockets.usable_ports = high - low + 1;
}

// Adds an outbound destination group with `time_wait` of `in_use` ports in TIME_WAIT.
inline void add_group(Facts& f,
                      const std::string& local,
                      const std::string& remote,
                      std::uint16_t port,
                      std::uint64_t in_use,
                      std::uint64_t time_wait,
                      bool loopback = false,
                      int family = AF_INET)
{
  DestGroup g;
  g.family = family;
  g.local = local;
  g.remote = remote;
  g.remote_port = port;
  g.in_use = in_use;
  g.time_wait = time_wait;
  g.usable = f.sockets.usable_ports;
  g.pressure =
    g.usable == 0 ? 0.0 : std::min(1.0, static_cast<double>(in_use) / static_cast<double>(g.usable));
  g.loopback = loopback;
  f.sockets.groups.push_back(g);
  f.sockets.group_count = f.sockets.groups.size();
  f.sockets.time_wait.outbound += time_wait;
  f.sockets.states[static_cast<std::size_t>(TcpState::time_wait)] += time_wait;
  f.sockets.states[static_cast<std::size_t>(TcpState::established)] += in_use - time_wait;
  f.sockets.total += in_use;
}

// Adds inbound TIME_WAIT (a server that closed first).
inline void add_inbound(Facts& f, std::uint64_t n)
{
  f.sockets.time_wait.inbound += n;
  f.sockets.states[static_cast<std::size_t>(TcpState::time_wait)] += n;
  f.sockets.total += n;
}

// Live outbound ESTABLISHED connections, `with_ts` of which negotiated timestamps.
inline void set_timestamp_share(Facts& f, std::uint64_t established, std::uint64_t with_ts)
{
  f.sockets.timestamps.outbound_established = established;
  f.sockets.timestamps.with_timestamps = with_ts;
}

// The live outbound ESTABLISHED sample of the last group added: `with_ts` of `established`
// negotiated timestamps (the peer's agreement, per destination).
inline void set_group_timestamps(Facts& f, std::uint64_t established, std::uint64_t with_ts)
{
  DestGroup& g = f.sockets.groups.back();
  g.outbound_established = established;
  g.with_timestamps = with_ts;
  g.in_use += established;
  g.pressure =
    g.usable == 0 ? 0.0 : std::min(1.0, static_cast<double>(g.in_use) / static_cast<double>(g.usable));
  f.sockets.timestamps.outbound_established += established;
  f.sockets.timestamps.with_timestamps += with_ts;
  f.sockets.states[static_cast<std::size_t>(TcpState::established)] += established;
  f.sockets.total += established;
}

// A client stuck at the end of a 1000-port range towards one destination, timestamps off, behind
// source NAT, with rates: a plan document that exercises every part of the schema.
inline Facts stuck_client_behind_nat()
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  add_inbound(f, 3);
  set_timestamp_share(f, 20, 19);
  f.nat.nat_rules_present = true;
  f.nat.nat_rules = { "nft ip nat postrouting: snat random-fully" };
  f.nat.random_fully = true;
  CounterRates rates;
  rates.interval_seconds = 2;
  rates.delta = { { "Tcp.ActiveOpens", 900 } };
  rates.per_second = { { "Tcp.ActiveOpens", 450.5 } };
  f.rates = rates;
  return f;
}

} // namespace tw::test
