// Aggregates sock_diag records into the socket role mix. Everything here but take_census is
// pure; take_census only wires SockDiag (the one file with netlink calls) to the aggregator.
#include "facts/census.hpp"

#include "facts/sysctl_reader.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string_view>
#include <sys/socket.h>
#include <unordered_set>

namespace tw {

namespace {

constexpr std::uint32_t k_loopback_ifindex = 1; // LOOPBACK_IFINDEX: lo is 1 in every netns
constexpr std::size_t k_chunk = 4096;           // group entries per chunk (no big reallocations)

std::uint64_t load64(const std::uint8_t* p)
{
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v)
{
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 29);
}

std::uint64_t hash_addr(std::uint64_t h, const std::array<std::uint8_t, 16>& a)
{
  return mix(mix(h, load64(a.data())), load64(a.data() + 8));
}

// A listening socket by (family, address, port); wildcard listeners are kept apart in bitsets.
struct ListenerKey
{
  std::uint8_t family = 0;
  std::uint16_t port = 0;
  std::array<std::uint8_t, 16> addr{};
  bool operator==(const ListenerKey& o) const = default;
};

struct ListenerHash
{
  std::size_t operator()(const ListenerKey& k) const
  {
    return static_cast<std::size_t>(hash_addr(mix(k.family, k.port), k.addr));
  }
};

// The compact binary key of a destination group: no strings until printing.
struct GroupKey
{
  std::uint8_t family = 0;
  std::uint16_t remote_port = 0;
  std::array<std::uint8_t, 16> local{};
  std::array<std::uint8_t, 16> remote{};
  bool operator==(const GroupKey& o) const = default;
};

struct GroupEntry
{
  GroupKey key;
  std::uint32_t in_use = 0;
  std::uint32_t time_wait = 0;
  std::uint32_t established = 0;     // outbound ESTABLISHED with tcp_info
  std::uint32_t with_timestamps = 0; // of which TCPI_OPT_TIMESTAMPS
  std::uint32_t v4_mapped = 0;       // of in_use: AF_INET6 sockets with IPv4-mapped addresses
  std::uint32_t error = 0;           // space-saving over-estimate: in_use and time_wait may exceed
                                     // the truth by this much (0: exact)
  bool loopback = false;
};

std::uint64_t hash_group(const GroupKey& k)
{
  return hash_addr(hash_addr(mix(k.family, k.remote_port), k.local), k.remote);
}

} // namespace

struct CensusAggregator::ListenerSet
{
  std::bitset<65536> any_port; // some listener on this port, any address
  std::bitset<65536> wild4;    // 0.0.0.0:port
  std::bitset<65536> wild6;    // [::]:port (dual-stack unless V6ONLY: matches IPv4 too)
  std::unordered_set<ListenerKey, ListenerHash> specific;

  bool matches(std::uint8_t family, const std::array<std::uint8_t, 16>& addr, std::uint16_t port) const
  {
    if (!any_port[port]) {
      return false;
    }
    if (wild6[port] || (family == AF_INET && wild4[port])) {
      return true;
    }
    ListenerKey k;
    k.family = family;
    k.port = port;
    k.addr = addr;
    return specific.count(k) != 0;
  }
};

// Open addressing over an index table; entries live in fixed chunks, so memory grows with
// groups only and never doubles in one step. At the cap it becomes a space-saving heavy-hitter
// table (Metwally et al.): a new group replaces a group with the smallest in_use and inherits
// its counts, which then over-estimate the newcomer by at most `error`. A group with more than
// (outbound sockets / cap) sockets is therefore always in the table at the end.
struct CensusAggregator::GroupTable
{
  std::size_t cap = 0;
  std::vector<std::uint32_t> slots; // 0 empty, else entry index + 1
  std::vector<std::unique_ptr<GroupEntry[]>> chunks;
  std::size_t count = 0;
  std::uint64_t replaced = 0;         // groups evicted at the cap
  std::vector<std::uint32_t> victims; // entries at victim_count when last swept (space-saving)
  std::uint32_t victim_count = 0;     // the smallest in_use at that sweep

  GroupEntry& entry(std::size_t i) { return chunks[i / k_chunk][i % k_chunk]; }
  const GroupEntry& entry(std::size_t i) const { return chunks[i / k_chunk][i % k_chunk]; }

  std::size_t home(const GroupKey& key) const
  {
    return static_cast<std::size_t>(hash_group(key)) & (slots.size() - 1);
  }

  void rehash(std::size_t new_size)
  {
    slots.assign(new_size, 0);
    const std::size_t mask = new_size - 1;
    for (std::size_t i = 0; i < count; ++i) {
      std::size_t s = home(entry(i).key);
      while (slots[s] != 0) {
        s = (s + 1) & mask;
      }
      slots[s] = static_cast<std::uint32_t>(i + 1);
    }
  }

  // Removes entry index i from the slots (linear-probing backward-shift delete, no tombstones).
  void unlink(std::uint32_t i)
  {
    const std::size_t mask = slots.size() - 1;
    std::size_t s = home(entry(i).key);
    while (slots[s] != i + 1) {
      s = (s + 1) & mask;
    }
    slots[s] = 0;
    for (std::size_t j = (s + 1) & mask; slots[j] != 0; j = (j + 1) & mask) {
      const std::size_t h = home(entry(slots[j] - 1).key);
      // Move j back into the hole unless its home lies cyclically in (s, j].
      const bool stays = s <= j ? (s < h && h <= j) : (s < h || h <= j);
      if (!stays) {
        slots[s] = slots[j];
        slots[j] = 0;
        s = j;
      }
    }
  }

  // A tracked group with the smallest in_use: counts only grow, so an entry still at the
  // count of the last sweep is a current minimum. A sweep costs one pass over the table and
  // yields every entry at the minimum, so the cost per replacement stays small.
  std::uint32_t take_victim()
  {
    for (int sweep = 0; sweep < 2; ++sweep) {
      while (!victims.empty()) {
        const std::uint32_t v = victims.back();
        victims.pop_back();
        if (entry(v).in_use == victim_count) {
          return v;
        }
      }
      victim_count = UINT32_MAX;
      for (std::size_t i = 0; i < count; ++i) {
        victim_count = std::min(victim_count, entry(i).in_use);
      }
      for (std::size_t i = count; i-- > 0;) {
        if (entry(i).in_use == victim_count) {
          victims.push_back(static_cast<std::uint32_t>(i));
        }
      }
    }
    return 0; // unreachable: the second sweep always finds the minimum
  }

  GroupEntry* replace_smallest(const GroupKey& key)
  {
    const std::uint32_t v = take_victim();
    unlink(v);
    GroupEntry& e = entry(v);
    const GroupEntry old = e;
    e = GroupEntry{};
    e.key = key;
    e.in_use = old.in_use; // inherited: the caller adds this socket
    e.time_wait = old.time_wait;
    e.error = old.in_use;
    const std::size_t mask = slots.size() - 1;
    std::size_t s = home(key);
    while (slots[s] != 0) {
      s = (s + 1) & mask;
    }
    slots[s] = v + 1;
    ++replaced;
    return &e;
  }

  // The entry for key, made when new; at the cap it replaces the smallest group.
  GroupEntry* find_or_add(const GroupKey& key)
  {
    if (slots.empty()) {
      rehash(1024);
    }
    const std::size_t mask = slots.size() - 1;
    std::size_t s = home(key);
    while (slots[s] != 0) {
      GroupEntry& e = entry(slots[s] - 1);
      if (e.key == key) {
        return &e;
      }
      s = (s + 1) & mask;
    }
    if (count >= cap) {
      return count == 0 ? nullptr : replace_smallest(key);
    }
    if (count % k_chunk == 0) {
      chunks.push_back(std::make_unique<GroupEntry[]>(k_chunk));
    }
    GroupEntry& e = entry(count);
    e.key = key;
    ++count;
    slots[s] = static_cast<std::uint32_t>(count);
    if (count * 4 > slots.size() * 3) {
      rehash(slots.size() * 2); // load factor stays under 3/4
      return &entry(count - 1);
    }
    return &e;
  }
};

bool is_loopback_address(int family, const std::array<std::uint8_t, 16>& addr)
{
  if (family == AF_INET) {
    return addr[0] == 127;
  }
  static constexpr std::array<std::uint8_t, 16> k_v6_loopback = { 0, 0, 0, 0, 0, 0, 0, 0,
                                                                  0, 0, 0, 0, 0, 0, 0, 1 };
  return addr == k_v6_loopback;
}

std::string format_address(int family, const std::array<std::uint8_t, 16>& addr)
{
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr.data(), buf, sizeof(buf)) == nullptr) {
    return "?";
  }
  return buf;
}

Sysctls read_census_sysctls()
{
  return read_sysctls(proc_sys_dir(), { k_port_range, k_reserved_ports });
}

CensusOptions live_census_options()
{
  return census_options_from(read_census_sysctls());
}

CensusOptions census_options_from(const Sysctls& sysctls)
{
  CensusOptions o;
  o.port_range = sysctls.local_port_range();
  if (!o.port_range) {
    const auto* v = sysctls.find(k_port_range);
    o.notes.push_back("net.ipv4.ip_local_port_range could not be read (" +
                      (v != nullptr
                         ? std::string(to_string(v->status)) + (v->detail.empty() ? "" : ": " + v->detail)
                         : std::string("not read")) +
                      "): sockets not on a listening port are counted as unknown");
  }
  if (auto reserved = sysctls.reserved_ports()) {
    o.reserved_ports = std::move(*reserved);
  } else if (const auto* v = sysctls.find(k_reserved_ports); v != nullptr) {
    if (v->status == ReadStatus::ok) {
      o.notes.push_back("net.ipv4.ip_local_reserved_ports has an unparsable value \"" + v->value +
                        "\": reserved ports are ignored, usable ports may be overstated");
    } else {
      o.notes.push_back("net.ipv4.ip_local_reserved_ports could not be read (" +
                        std::string(to_string(v->status)) + (v->detail.empty() ? "" : ": " + v->detail) +
                        "): usable ports may be overstated");
    }
  }
  return o;
}

CensusAggregator::CensusAggregator(const CensusOptions& options)
  : m_options(options)
  , m_reserved(std::make_unique<std::bitset<65536>>())
  , m_listeners(std::make_unique<ListenerSet>())
  , m_groups(std::make_unique<GroupTable>())
{
  m_groups->cap = m_options.group_cap;
  for (const auto& r : m_options.reserved_ports) {
    for (std::uint32_t p = r.low; p <= r.high && p < 65536; ++p) {
      m_reserved->set(p);
    }
  }
  m_census.available = true;
  m_census.port_range = m_options.port_range;
  if (m_options.port_range) {
    std::uint64_t usable = 0;
    for (std::uint32_t p = m_options.port_range->low; p <= m_options.port_range->high && p < 65536; ++p) {
      if (!(*m_reserved)[p]) {
        ++usable;
      }
    }
    m_census.usable_ports = usable;
  }
  m_census.notes = m_options.notes;
}

CensusAggregator::~CensusAggregator() = default;

void CensusAggregator::add_note(std::string note)
{
  m_census.notes.push_back(std::move(note));
}

bool CensusAggregator::port_in_range(std::uint16_t port) const
{
  return m_options.port_range && m_options.port_range->contains(port) && !(*m_reserved)[port];
}

void CensusAggregator::add_listener(const SockRecord& rec)
{
  ++m_census.total;
  if (rec.state < k_tcp_state_slots) {
    ++m_census.states[rec.state];
  } else {
    ++m_other_states;
  }
  auto& l = *m_listeners;
  l.any_port.set(rec.local_port);
  if (is_zero_address(rec.local)) {
    (rec.family == AF_INET ? l.wild4 : l.wild6).set(rec.local_port);
    return;
  }
  ListenerKey k;
  k.family = rec.family;
  k.port = rec.local_port;
  k.addr = rec.local;
  l.specific.insert(k);
}

SocketRole CensusAggregator::classify(const SockRecord& rec) const
{
  UnknownWhy why = UnknownWhy::none;
  return classify_why(rec, why);
}

SocketRole CensusAggregator::classify_why(const SockRecord& rec, UnknownWhy& why) const
{
  const auto& l = *m_listeners;
  const bool exact = l.matches(rec.family, rec.local, rec.local_port);
  if (!m_options.port_range) {
    why = exact ? UnknownWhy::none : UnknownWhy::no_range;
    return exact ? SocketRole::inbound : SocketRole::unknown;
  }
  const bool in_range = port_in_range(rec.local_port);
  if (in_range && l.any_port[rec.local_port]) {
    // A service listening inside the ephemeral range: its port could be either end.
    why = UnknownWhy::listener_in_range;
    return SocketRole::unknown;
  }
  if (exact) {
    return SocketRole::inbound;
  }
  if (!in_range) {
    // A port connect() would not pick today is inbound only when a service listens on it. Without
    // one it may be outbound from before a range change (within the last 60 s), a listener that
    // has gone, or a client that bind()s fixed ports: nothing here tells which.
    if (l.any_port[rec.local_port]) {
      return SocketRole::inbound;
    }
    why = UnknownWhy::outside_range;
    return SocketRole::unknown;
  }
  const bool loopback = is_loopback_address(rec.family, rec.remote) || rec.ifindex == k_loopback_ifindex;
  if (loopback && port_in_range(rec.remote_port) && !l.matches(rec.family, rec.remote, rec.remote_port)) {
    // Both ends are ours and both ports look ephemeral: we cannot tell which end connected.
    why = UnknownWhy::loopback_both_ends;
    return SocketRole::unknown;
  }
  return SocketRole::outbound;
}

void CensusAggregator::add_socket(const SockRecord& rec)
{
  ++m_census.total;
  if (rec.state >= k_tcp_state_slots) {
    ++m_other_states;
    return;
  }
  ++m_census.states[rec.state];
  const auto state = static_cast<TcpState>(rec.state);
  if (state == TcpState::listen || state == TcpState::close || state == TcpState::new_syn_recv) {
    return; // holds no connected ephemeral port
  }
  UnknownWhy why = UnknownWhy::none;
  const SocketRole role = classify_why(rec, why);
  const bool tw = state == TcpState::time_wait;
  if (tw) {
    switch (role) {
      case SocketRole::outbound:
        ++m_census.time_wait.outbound;
        break;
      case SocketRole::inbound:
        ++m_census.time_wait.inbound;
        break;
      case SocketRole::unknown:
        ++m_census.time_wait.unknown;
        if (why == UnknownWhy::no_range) {
          ++m_unknown_no_range;
        } else if (why == UnknownWhy::listener_in_range) {
          ++m_unknown_listener_in_range;
        } else if (why == UnknownWhy::loopback_both_ends) {
          ++m_unknown_loopback;
        } else if (why == UnknownWhy::outside_range) {
          ++m_census.time_wait.outside_range;
          if (m_options.port_range->contains(rec.local_port)) {
            ++m_outside_range_reserved;
          }
        }
        break;
    }
  }
  if (m_options.attribute_owners) {
    m_wants.add(rec, role == SocketRole::outbound);
  }
  if (role != SocketRole::outbound) {
    return;
  }
  const bool sampled = state == TcpState::established && rec.has_tcp_info;
  const bool negotiated = sampled && (rec.tcpi_options & 1U) != 0; // TCPI_OPT_TIMESTAMPS
  if (sampled) {
    ++m_census.timestamps.outbound_established;
    if (negotiated) {
      ++m_census.timestamps.with_timestamps;
    }
  }
  GroupKey key;
  key.family = rec.family;
  key.remote_port = rec.remote_port;
  key.local = rec.local;
  key.remote = rec.remote;
  GroupEntry* e = m_groups->find_or_add(key);
  if (e == nullptr) {
    ++m_folded; // only with a cap of 0: no group is tracked at all
    return;
  }
  ++e->in_use;
  if (tw) {
    ++e->time_wait;
  }
  if (rec.v4_mapped) {
    ++e->v4_mapped;
  }
  if (sampled) {
    ++e->established;
    if (negotiated) {
      ++e->with_timestamps;
    }
  }
  e->loopback = e->loopback || rec.ifindex == k_loopback_ifindex ||
                is_loopback_address(rec.family, rec.local) || is_loopback_address(rec.family, rec.remote);
}

SocketCensus CensusAggregator::finish()
{
  auto& c = m_census;
  m_wants.seal();
  if (!m_options.attribute_owners) {
    c.processes.reason = m_options.owners_off;
  }
  c.listeners = m_listeners->any_port.count();
  const auto& g = *m_groups;
  // Groups ever tracked: each replacement at the cap adds one (an upper bound on distinct
  // groups, as a replaced group that comes back is counted again).
  c.group_count = g.count + g.replaced;
  c.groups_truncated = g.replaced > 0 || m_folded > 0;
  std::vector<std::uint32_t> order(g.count);
  for (std::size_t i = 0; i < g.count; ++i) {
    order[i] = static_cast<std::uint32_t>(i);
  }
  // Pressure order: in_use (usable is the same for every group), then time_wait, then the
  // order groups were first tracked. The engine judges a group by its TIME_WAIT share, so the
  // result is the union of the top N by this order and the top N by time_wait: a group that is
  // mostly TIME_WAIT is never cut because live connections fill other groups.
  const auto by_pressure = [&g](std::uint32_t a, std::uint32_t b) {
    const auto& x = g.entry(a);
    const auto& y = g.entry(b);
    if (x.in_use != y.in_use) {
      return x.in_use > y.in_use;
    }
    if (x.time_wait != y.time_wait) {
      return x.time_wait > y.time_wait;
    }
    return a < b;
  };
  const auto by_time_wait = [&g](std::uint32_t a, std::uint32_t b) {
    const auto& x = g.entry(a);
    const auto& y = g.entry(b);
    if (x.time_wait != y.time_wait) {
      return x.time_wait > y.time_wait;
    }
    if (x.in_use != y.in_use) {
      return x.in_use > y.in_use;
    }
    return a < b;
  };
  const std::size_t n = std::min(order.size(), m_options.top_n);
  const auto nth = order.begin() + static_cast<std::ptrdiff_t>(n);
  std::vector<std::uint32_t> top;
  top.reserve(2 * n);
  std::nth_element(order.begin(), nth, order.end(), by_time_wait);
  top.insert(top.end(), order.begin(), nth);
  std::nth_element(order.begin(), nth, order.end(), by_pressure);
  top.insert(top.end(), order.begin(), nth);
  std::sort(top.begin(), top.end(), by_pressure);
  top.erase(std::unique(top.begin(), top.end()), top.end());
  c.groups.clear();
  for (const std::uint32_t i : top) {
    const auto& e = g.entry(i);
    DestGroup d;
    d.family = e.key.family;
    d.local = format_address(e.key.family, e.key.local);
    d.remote = format_address(e.key.family, e.key.remote);
    d.remote_port = e.key.remote_port;
    d.in_use = e.in_use;
    d.time_wait = e.time_wait;
    d.usable = c.usable_ports;
    d.pressure = c.usable_ports == 0
                   ? 0.0
                   : std::min(1.0, static_cast<double>(e.in_use) / static_cast<double>(c.usable_ports));
    d.loopback = e.loopback;
    d.outbound_established = e.established;
    d.with_timestamps = e.with_timestamps;
    d.v4_mapped = e.v4_mapped;
    if (e.error > 0) {
      c.notes.push_back("group " + d.local + " -> " + d.remote + ":" + std::to_string(d.remote_port) +
                        " entered the group table after its cap: its in_use and time_wait may be "
                        "over-estimated by up to " +
                        std::to_string(e.error));
    }
    c.groups.push_back(std::move(d));
  }
  if (m_unknown_listener_in_range > 0) {
    const bool one = m_unknown_listener_in_range == 1;
    c.notes.push_back(counted(m_unknown_listener_in_range, "TIME_WAIT socket") + (one ? " sits" : " sit") +
                      " on a port that is listened on inside ip_local_port_range "
                      "(a service inside the ephemeral range): counted as unknown");
  }
  if (m_unknown_loopback > 0) {
    c.notes.push_back(counted(m_unknown_loopback, "loopback TIME_WAIT socket") +
                      (m_unknown_loopback == 1 ? " has" : " have") +
                      " both ports in the ephemeral range and no listener on "
                      "either: counted as unknown");
  }
  if (const std::uint64_t outside = c.time_wait.outside_range; outside > 0) {
    const PortRange& r = *m_options.port_range;
    const std::string range = std::to_string(r.low) + "-" + std::to_string(r.high);
    std::string where = "outside the current ip_local_port_range " + range;
    if (m_outside_range_reserved == outside) {
      where = "reserved (ip_local_reserved_ports) inside the current ip_local_port_range " + range;
    } else if (m_outside_range_reserved > 0) {
      where += " (" + std::to_string(m_outside_range_reserved) + " of them reserved inside it)";
    }
    c.notes.push_back(counted(outside, "TIME_WAIT socket") + (outside == 1 ? " has" : " have") +
                      " a local port " + where +
                      " and no listener on it: the range (or the reserved ports) changed within the last "
                      "60 s, a listener has gone, or a client bind()s fixed ports; counted as unknown, not "
                      "inbound, and left out of port pressure");
  }
  if (m_unknown_no_range > 0) {
    c.notes.push_back(counted(m_unknown_no_range, "TIME_WAIT socket") +
                      " could not be classified without ip_local_port_range");
  }
  if (g.replaced > 0) {
    c.notes.push_back("the destination group table reached its cap of " +
                      std::to_string(m_options.group_cap) + " groups: the busiest are kept (space-saving), " +
                      std::to_string(g.replaced) +
                      " times a new group replaced one of the smallest; every outbound socket is still "
                      "counted by role, and group_count is an upper bound");
  }
  if (m_folded > 0) {
    c.notes.push_back("no destination groups are tracked (group cap 0): " + std::to_string(m_folded) +
                      " outbound sockets were counted by role only");
  }
  if (m_other_states > 0) {
    c.notes.push_back(std::to_string(m_other_states) + " sockets were in a state this version does not name");
  }
  return std::move(m_census);
}

SocketCensus take_census(const CensusOptions& options)
{
  SockDiag diag;
  return take_census(options, diag);
}

namespace {

constexpr std::uint32_t k_listen = state_bit(static_cast<unsigned>(TcpState::listen));
constexpr std::uint32_t k_all_states = state_bit(static_cast<unsigned>(k_tcp_state_slots)) - 1;
constexpr std::uint32_t k_others = k_all_states & ~k_listen & ~state_bit(0);

// How the dumps of one census went, for its notes.
struct DumpTally
{
  bool interrupted = false;
  std::uint64_t skipped = 0;
  bool skip_v6 = false; // the kernel has no IPv6 sock_diag: said once, then not asked again
};

// Dumps the states of both families into visit; empty, or what failed.
std::string dump_families(SockDiag& diag,
                          CensusAggregator& agg,
                          DumpTally& tally,
                          std::uint32_t states,
                          bool info,
                          const SockVisitor& visit)
{
  for (const int family : { AF_INET, AF_INET6 }) {
    if (family == AF_INET6 && tally.skip_v6) {
      continue;
    }
    const DumpResult r = diag.dump_tcp(family, states, info, visit);
    tally.interrupted = tally.interrupted || r.interrupted;
    tally.skipped += r.skipped;
    if (r.ok) {
      continue;
    }
    if (family == AF_INET6 && (r.error == EAFNOSUPPORT || r.error == ENOENT || r.error == EOPNOTSUPP)) {
      tally.skip_v6 = true;
      agg.add_note("IPv6 sockets were not counted: " + r.step + ": " + errno_text(r.error));
      continue;
    }
    return r.step + ": " + errno_text(r.error);
  }
  return {};
}

void add_tally_notes(CensusAggregator& agg, const DumpTally& tally)
{
  if (tally.interrupted) {
    agg.add_note("the kernel flagged the dump as interrupted (NLM_F_DUMP_INTR): socket tables changed while "
                 "they were read, so counts are approximate");
  }
  if (tally.skipped > 0) {
    agg.add_note(std::to_string(tally.skipped) +
                 " sock_diag replies were too short, of an unknown type, or cut off, and were not "
                 "counted: some sockets may be missing");
  }
}

} // namespace

SocketCensus take_census(const CensusOptions& options, SockDiag& diag)
{
  CensusAggregator agg(options);
  const auto failed = [](std::string error) {
    SocketCensus out;
    out.error = std::move(error);
    return out;
  };
  if (!diag.ok()) {
    return failed(diag.step() + ": " + errno_text(diag.error()));
  }
  DumpTally tally;
  const SockVisitor on_listener = [&agg](const SockRecord& rec) { agg.add_listener(rec); };
  const SockVisitor on_socket = [&agg](const SockRecord& rec) { agg.add_socket(rec); };
  if (auto err = dump_families(diag, agg, tally, k_listen, false, on_listener); !err.empty()) {
    return failed(std::move(err));
  }
  if (auto err = dump_families(diag, agg, tally, k_others, options.want_timestamps, on_socket);
      !err.empty()) {
    return failed(std::move(err));
  }
  add_tally_notes(agg, tally);
  SocketCensus census = agg.finish();
  if (options.attribute_owners) {
    // The kernel's task_file iterator reads every fd table in one pass; the /proc walk is its
    // fallback, and what TW_ADVISOR_OWNER_READER=proc-walk (a test and bench hook) asks for.
    const char* reader = std::getenv("TW_ADVISOR_OWNER_READER");
    const bool proc_walk_only = reader != nullptr && std::string_view(reader) == "proc-walk";
    census.processes = attribute_processes(
      agg.wants(),
      { .proc_root = options.proc_root, .try_iterator = !proc_walk_only && options.proc_root == "/proc" });
  }
  return census;
}

std::string add_listeners(CensusAggregator& agg)
{
  SockDiag diag;
  if (!diag.ok()) {
    return diag.step() + ": " + errno_text(diag.error());
  }
  DumpTally tally;
  auto err = dump_families(
    diag, agg, tally, k_listen, false, [&agg](const SockRecord& rec) { agg.add_listener(rec); });
  add_tally_notes(agg, tally);
  return err;
}

} // namespace tw
