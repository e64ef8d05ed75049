#include "report/census_json.hpp"
#include "report/census_text.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sys/socket.h>

namespace tw {
namespace {

SocketCensus sample()
{
  SocketCensus c;
  c.available = true;
  c.states[static_cast<std::size_t>(TcpState::time_wait)] = 1200;
  c.states[static_cast<std::size_t>(TcpState::established)] = 30;
  c.states[static_cast<std::size_t>(TcpState::listen)] = 2;
  c.states[static_cast<std::size_t>(TcpState::fin_wait2)] = 7;
  c.total = 1239;
  c.listeners = 2;
  c.time_wait = { 1000, 150, 50, 0 };
  c.port_range = PortRange{ 40000, 40999 };
  c.usable_ports = 1000;
  DestGroup v4;
  v4.family = AF_INET;
  v4.local = "198.18.1.1";
  v4.remote = "198.18.1.2";
  v4.remote_port = 8080;
  v4.in_use = 990;
  v4.time_wait = 980;
  v4.usable = 1000;
  v4.pressure = 0.99;
  v4.outbound_established = 10;
  v4.with_timestamps = 0;
  DestGroup v6 = v4;
  v6.family = AF_INET6;
  v6.local = "::1";
  v6.remote = "::1";
  v6.remote_port = 6379;
  v6.in_use = 20;
  v6.time_wait = 20;
  v6.pressure = 0.02;
  v6.loopback = true;
  v6.outbound_established = 4;
  v6.with_timestamps = 3;
  c.groups = { v4, v6 };
  c.group_count = 5;
  c.timestamps = { 10, 9 };
  c.notes = { "a caveat" };
  return c;
}

TEST(CensusJson, HasTheDocumentedShape)
{
  const auto j = census_to_json(sample());
  EXPECT_EQ(j["available"], true);
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["states"]["time-wait"], 1200);
  EXPECT_EQ(j["states"]["established"], 30);
  EXPECT_EQ(j["states"]["listen"], 2);
  EXPECT_EQ(j["states"]["syn-sent"], 0); // every named state is present, zero or not
  EXPECT_EQ(j["states"].size(), 12U);
  EXPECT_EQ(j["states"]["fin-wait-2"], 7); // orphaned FIN_WAIT2 minis are counted from the dump
  EXPECT_EQ(j["total"], 1239);
  EXPECT_EQ(j["time_wait"]["outbound"], 1000);
  EXPECT_EQ(j["time_wait"]["inbound"], 150);
  EXPECT_EQ(j["time_wait"]["unknown"], 50);
  EXPECT_EQ(j["port_range"]["low"], 40000);
  EXPECT_EQ(j["port_range"]["high"], 40999);
  EXPECT_EQ(j["usable_ports"], 1000);
  ASSERT_EQ(j["groups"].size(), 2U);
  const auto& g = j["groups"][0];
  EXPECT_EQ(g["local"], "198.18.1.1");
  EXPECT_EQ(g["remote"], "198.18.1.2");
  EXPECT_EQ(g["remote_port"], 8080);
  EXPECT_EQ(g["in_use"], 990);
  EXPECT_EQ(g["time_wait"], 980);
  EXPECT_EQ(g["usable"], 1000);
  EXPECT_TRUE(g["pressure"].is_number_float());
  EXPECT_DOUBLE_EQ(g["pressure"].get<double>(), 0.99);
  EXPECT_EQ(g["loopback"], false);
  EXPECT_EQ(g["family"], "ipv4");
  EXPECT_EQ(j["groups"][1]["family"], "ipv6");
  EXPECT_EQ(j["groups"][1]["loopback"], true);
  // Per-group timestamp evidence: a peer that refuses timestamps shows as negotiated 0.
  EXPECT_EQ(g["timestamps"]["outbound_established"], 10);
  EXPECT_EQ(g["timestamps"]["negotiated"], 0);
  EXPECT_EQ(j["groups"][1]["timestamps"]["outbound_established"], 4);
  EXPECT_EQ(j["groups"][1]["timestamps"]["negotiated"], 3);
  EXPECT_EQ(g["timestamps"].size(), 2U);
  EXPECT_EQ(j["group_count"], 5);
  EXPECT_EQ(j["groups_truncated"], false);
  EXPECT_EQ(j["timestamps"]["outbound_established"], 10);
  EXPECT_EQ(j["timestamps"]["negotiated"], 9);
  EXPECT_DOUBLE_EQ(j["timestamps"]["share"].get<double>(), 0.9);
  EXPECT_EQ(j["notes"][0], "a caveat");
}

TEST(CensusJson, NullsWhenThereIsNothingToMeasure)
{
  SocketCensus c;
  c.available = false;
  c.error = "nl_connect(NETLINK_SOCK_DIAG): Permission denied";
  const auto j = census_to_json(c);
  EXPECT_EQ(j["available"], false);
  EXPECT_EQ(j["error"], c.error);
  EXPECT_TRUE(j["port_range"].is_null());
  EXPECT_TRUE(j["timestamps"]["share"].is_null());
  EXPECT_TRUE(j["groups"].is_array());
  EXPECT_TRUE(j["groups"].empty());
}

TEST(CensusText, ShowsStatesRolesGroupsTimestampsAndNotes)
{
  const auto t = census_to_text(sample());
  EXPECT_NE(t.find("TCP sockets: 1239"), std::string::npos) << t;
  EXPECT_NE(t.find("time-wait"), std::string::npos);
  // The roles are a table: counts right-aligned, the texts in one column.
  EXPECT_NE(t.find("  outbound  1000 (83%)  we connected"), std::string::npos) << t;
  EXPECT_NE(t.find("  inbound    150 (13%)  we accepted"), std::string::npos) << t;
  EXPECT_NE(t.find("  unknown     "), std::string::npos) << t;
  EXPECT_NE(t.find("range 40000-40999, 1000 usable"), std::string::npos) << t;
  EXPECT_NE(t.find("198.18.1.2:8080"), std::string::npos) << t;
  EXPECT_NE(t.find("99.0%"), std::string::npos) << t;
  EXPECT_NE(t.find("[::1]:6379"), std::string::npos) << t;
  EXPECT_NE(t.find("loopback"), std::string::npos) << t;
  EXPECT_NE(t.find("3 more groups"), std::string::npos) << t;
  EXPECT_NE(t.find("9 of 10 negotiated (90%)"), std::string::npos) << t;
  EXPECT_NE(t.find("timestamps 0/10"), std::string::npos) << t; // per group: the peer refused
  EXPECT_NE(t.find("timestamps 3/4"), std::string::npos) << t;
  EXPECT_NE(t.find("- a caveat"), std::string::npos) << t;
  // States with no sockets are left out of the text.
  EXPECT_EQ(t.find("syn-sent"), std::string::npos) << t;
}

// Prose wraps to the width asked for (the terminal's): the notes, the unknown role's explanation
// and the port range header; no line is wider, and a wrapped note keeps its words.
TEST(CensusText, ProseWrapsToTheWidth)
{
  SocketCensus c = sample();
  c.time_wait.unknown = 12;
  c.time_wait.outside_range = 7;
  c.notes.push_back("a note long enough that it cannot fit on one line of sixty columns, so it is wrapped "
                    "under its dash");
  const auto t = census_to_text(c, 60);
  // The prose lines (the groups table's rows stay whole, whatever their width).
  int prose = 0;
  for (const auto line : split(t, '\n')) {
    for (const char* marker :
         { "note", "under its dash", "evidence", "outside", "Source ports", "1000 usable" }) {
      if (line.find(marker) != std::string_view::npos && line.find("timestamps") == std::string_view::npos) {
        ++prose;
        EXPECT_LE(line.size(), 60U) << line << "\n" << t;
        break;
      }
    }
  }
  EXPECT_GE(prose, 5) << t;
  EXPECT_NE(t.find("  - a note long enough"), std::string::npos) << t;
  EXPECT_NE(t.find("\n    "), std::string::npos) << t;
  EXPECT_NE(t.find("  unknown     12 ("), std::string::npos) << t;
  EXPECT_NE(t.find("7 of them outside"), std::string::npos) << t;
  // At 200 columns the same census keeps each of those on one line.
  const auto wide = census_to_text(c, 200);
  EXPECT_NE(
    wide.find("Source ports by destination (outbound, busiest first): range 40000-40999, 1000 usable\n"),
    std::string::npos)
    << wide;
}

TEST(CensusText, SaysWhenThereIsNothingOutbound)
{
  SocketCensus c;
  c.available = true;
  const auto t = census_to_text(c);
  EXPECT_NE(t.find("(no outbound connections)"), std::string::npos) << t;
  EXPECT_NE(t.find("none to look at"), std::string::npos) << t;
}

// A group of AF_INET6 sockets to ::ffff:127.0.0.1 is printed as 127.0.0.1, and says its sockets are
// AF_INET6 (which dump sees them); so does a TIME_WAIT count outside the current range.
SocketCensus mapped_sample()
{
  SocketCensus c = sample();
  c.time_wait = { 1000, 150, 50, 40 };
  DestGroup m;
  m.family = AF_INET;
  m.local = "127.0.0.1";
  m.remote = "127.0.0.1";
  m.remote_port = 8080;
  m.in_use = 30;
  m.time_wait = 30;
  m.usable = 1000;
  m.pressure = 0.03;
  m.loopback = true;
  m.v4_mapped = 30;
  DestGroup mixed = m;
  mixed.remote_port = 8081;
  mixed.v4_mapped = 12;
  c.groups = { c.groups[0], m, mixed };
  return c;
}

TEST(CensusJson, GroupsCountTheirV4MappedSocketsAndTimeWaitCountsOutsideRange)
{
  const auto j = census_to_json(mapped_sample());
  EXPECT_EQ(j["groups"][0]["v4_mapped"], 0);
  EXPECT_EQ(j["groups"][1]["family"], "ipv4");
  EXPECT_EQ(j["groups"][1]["v4_mapped"], 30);
  EXPECT_EQ(j["groups"][2]["v4_mapped"], 12);
  EXPECT_EQ(j["time_wait"]["outside_range"], 40);
}

TEST(CensusText, SaysWhichGroupsHoldV4MappedSocketsAndCountsOutsideRange)
{
  const auto t = census_to_text(mapped_sample());
  EXPECT_NE(t.find("127.0.0.1:8080 (AF_INET6 sockets, v4-mapped)"), std::string::npos) << t;
  EXPECT_NE(t.find("127.0.0.1:8081 (12 of 30 sockets AF_INET6, v4-mapped)"), std::string::npos) << t;
  EXPECT_EQ(t.find("198.18.1.2:8080 ("), std::string::npos) << t;
  EXPECT_NE(t.find("40 of them outside the current port range"), std::string::npos) << t;
}

} // namespace
} // namespace tw
