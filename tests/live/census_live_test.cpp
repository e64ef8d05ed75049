// The census against real sockets: two namespaces joined by veth, real inbound and outbound
// TIME_WAIT over IPv4 and IPv6, checked by role on each side and against `ss -tan`.
#include "support/netns.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tw::test {
namespace {

using nlohmann::json;

json census(const Netns& ns)
{
  const auto r = ns.run({ required_env("TW_ADVISOR_BIN"), "census", "--format", "json", "--top", "50" });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

// Starts a loadgen server in ns and waits for its "ready" line.
std::unique_ptr<BackgroundProcess> start_server(const Netns& ns, const std::vector<std::string>& args)
{
  std::vector<std::string> argv = { required_env("TW_LOADGEN_BIN"), "server" };
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<BackgroundProcess>(ns.exec_argv(argv));
  EXPECT_TRUE(p->wait_for_output("ready", std::chrono::seconds(10))) << p->output();
  return p;
}

// Runs a loadgen client in ns; returns its key=value result line as a map.
std::map<std::string, long> run_client(const Netns& ns, const std::vector<std::string>& args)
{
  std::vector<std::string> argv = { required_env("TW_LOADGEN_BIN"), "client" };
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = ns.run(argv, {}, std::chrono::seconds(90));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, long> out;
  for (const auto field : split_ws(r.out)) {
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    if (const auto v = parse_int(field.substr(eq + 1))) {
      out[std::string(field.substr(0, eq))] = static_cast<long>(*v);
    }
  }
  EXPECT_TRUE(out.count("ok") != 0) << "no result line from loadgen: " << r.out;
  return out;
}

// Lets FIN/ACK exchanges finish so FIN_WAIT/LAST_ACK have turned into TIME_WAIT or gone.
// Sockets of both namespaces still closing (FIN_WAIT1/2, CLOSING, LAST_ACK): under load the last
// FINs may still be in flight when the traffic generator exits.
long closing(const json& c)
{
  long n = 0;
  for (const char* state : { "fin-wait-1", "fin-wait-2", "closing", "last-ack" }) {
    n += c["states"].value(state, 0L);
  }
  return n;
}

// Waits until no connection of the pair is still closing, so every one has reached TIME_WAIT (or
// gone): at least 700 ms, at most 10 s.
void settle(const HostPair& hp)
{
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (closing(census(hp.client)) == 0 && closing(census(hp.server)) == 0) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

const json* find_group(const json& c, const std::string& remote, int port)
{
  for (const auto& g : c["groups"]) {
    if (g["remote"] == remote && g["remote_port"] == port) {
      return &g;
    }
  }
  return nullptr;
}

class CensusLive : public ::testing::Test
{
protected:
  void SetUp() override { TW_REQUIRE_NETNS(); }
};

// Issue 2's "done when": about 1000 outbound TIME_WAIT in a 1000-port range towards one
// destination make that group's pressure near 1.0; the server sees nothing outbound.
TEST_F(CensusLive, NarrowRangeOutboundTimeWaitReachesFullPressure)
{
  HostPair hp("cen1");
  hp.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40999");
  auto server =
    start_server(hp.server, { "--bind", hp.server_v4, "--port", "8080", "--timeout-ms", "60000" });
  const auto res = run_client(hp.client,
                              { "--connect",
                                hp.server_v4,
                                "--port",
                                "8080",
                                "--count",
                                "1000",
                                "--close-first",
                                "--timeout-ms",
                                "60000" });
  // 1000 ports, 1000 connects: each success took a distinct port.
  EXPECT_GE(res.at("ok"), 990);
  settle(hp);

  const json c = census(hp.client);
  ASSERT_TRUE(c["available"].get<bool>());
  EXPECT_EQ(c["port_range"]["low"], 40000);
  EXPECT_EQ(c["port_range"]["high"], 40999);
  EXPECT_EQ(c["usable_ports"], 1000);
  const auto outbound = c["time_wait"]["outbound"].get<long>();
  // Tolerance: every successful connect holds its port for 60 s (TIME_WAIT, or FIN_WAIT2 until
  // the server's FIN), so the ideal is ok. On the kernels we run, a few percent of client
  // TIME_WAIT sockets are ended early by a peer RST (TcpOutRsts on the server; TIME_WAIT dies
  // on RST with tcp_rfc1337=0), so we accept 90%; below that the census is losing sockets.
  EXPECT_GE(outbound, res.at("ok") * 9 / 10);
  EXPECT_LE(outbound, res.at("ok"));
  EXPECT_EQ(c["time_wait"]["inbound"], 0);
  EXPECT_EQ(c["time_wait"]["unknown"], 0);
  const json* g = find_group(c, hp.server_v4, 8080);
  ASSERT_NE(g, nullptr) << c.dump(2);
  EXPECT_EQ((*g)["local"], hp.client_v4);
  EXPECT_EQ((*g)["family"], "ipv4");
  EXPECT_EQ((*g)["usable"], 1000);
  EXPECT_FALSE((*g)["loopback"].get<bool>());
  EXPECT_GE((*g)["in_use"].get<long>(), outbound);
  EXPECT_GE((*g)["pressure"].get<double>(), 0.9);
  EXPECT_LE((*g)["pressure"].get<double>(), 1.0);
  EXPECT_EQ(c["groups"][0]["remote"], hp.server_v4) << "the busy group must come first";

  const json s = census(hp.server);
  EXPECT_EQ(s["time_wait"]["outbound"], 0);
  EXPECT_EQ(s["time_wait"]["unknown"], 0);
  EXPECT_TRUE(s["groups"].empty()) << s.dump(2);
  EXPECT_EQ(s["states"]["listen"], 1);
  server->stop();
}

// Server closes first over IPv6: inbound TIME_WAIT on the server, nothing on the client.
TEST_F(CensusLive, ServerClosingFirstMakesInboundTimeWaitOverIpv6)
{
  HostPair hp("cen2");
  auto server = start_server(
    hp.server, { "--bind", hp.server_v6, "--port", "8443", "--close-first", "--timeout-ms", "60000" });
  const auto res = run_client(hp.client, { "--connect", hp.server_v6, "--port", "8443", "--count", "200" });
  EXPECT_EQ(res.at("ok"), 200);
  settle(hp);
  const json s = census(hp.server);
  const auto inbound = s["time_wait"]["inbound"].get<long>();
  // A client port reused for a later connect replaces the server's TIME_WAIT of that 4-tuple
  // (a SYN may take over a TIME_WAIT); with 28232 ports and 200 connects that is rare, so 90%.
  EXPECT_GE(inbound, 180);
  EXPECT_LE(inbound, 200);
  EXPECT_EQ(s["time_wait"]["outbound"], 0);
  EXPECT_EQ(s["time_wait"]["unknown"], 0);
  EXPECT_TRUE(s["groups"].empty()) << s.dump(2);
  EXPECT_EQ(s["states"]["time-wait"].get<long>(), inbound);

  const json c = census(hp.client);
  EXPECT_EQ(c["states"]["time-wait"], 0);
  server->stop();
}

// Client closes first over IPv6: outbound TIME_WAIT grouped by the IPv6 destination.
TEST_F(CensusLive, ClientClosingFirstMakesOutboundTimeWaitOverIpv6)
{
  HostPair hp("cen3");
  auto server =
    start_server(hp.server, { "--bind", hp.server_v6, "--port", "9000", "--timeout-ms", "60000" });
  const std::uint64_t rsts_before = hp.server.counter("TcpOutRsts");
  const auto res =
    run_client(hp.client, { "--connect", hp.server_v6, "--port", "9000", "--count", "300", "--close-first" });
  EXPECT_EQ(res.at("ok"), 300);
  settle(hp);
  const json c = census(hp.client);
  // A server RST ends a client TIME_WAIT early (tcp_rfc1337=0): under load CI saw 264 of 300
  // left. Each RST the server sent may take one away; beyond that the census is losing sockets.
  const auto rsts = static_cast<long>(hp.server.counter("TcpOutRsts") - rsts_before);
  EXPECT_GE(c["time_wait"]["outbound"].get<long>() + rsts, 270) << "server RSTs " << rsts;
  EXPECT_LE(c["time_wait"]["outbound"].get<long>(), 300);
  EXPECT_EQ(c["time_wait"]["inbound"], 0);
  const json* g = find_group(c, hp.server_v6, 9000);
  ASSERT_NE(g, nullptr) << c.dump(2);
  EXPECT_EQ((*g)["family"], "ipv6");
  EXPECT_EQ((*g)["local"], hp.client_v6);
  EXPECT_EQ((*g)["usable"], 28232); // a new namespace starts from the default 32768-60999
  EXPECT_NEAR((*g)["pressure"].get<double>(), (*g)["in_use"].get<double>() / 28232.0, 1e-9);
  const json s = census(hp.server);
  EXPECT_EQ(s["time_wait"]["outbound"], 0);
  server->stop();
}

// A dual-stack listener on "::" accepts IPv4: the server's TIME_WAIT is reported with
// IPv4-mapped addresses in the AF_INET6 dump; the census must still call it inbound.
TEST_F(CensusLive, DualStackListenerInboundIsNormalisedToIpv4)
{
  HostPair hp("cen4");
  auto server =
    start_server(hp.server, { "--bind", "::", "--port", "8081", "--close-first", "--timeout-ms", "60000" });
  const auto res = run_client(hp.client, { "--connect", hp.server_v4, "--port", "8081", "--count", "100" });
  EXPECT_EQ(res.at("ok"), 100);
  settle(hp);
  const auto ss = hp.server.run_ok({ "ss", "-tan", "state", "time-wait" });
  EXPECT_NE(ss.out.find("::ffff:" + hp.server_v4), std::string::npos)
    << "expected mapped addresses: " << ss.out;
  const json s = census(hp.server);
  EXPECT_GE(s["time_wait"]["inbound"].get<long>(), 90);
  EXPECT_EQ(s["time_wait"]["outbound"], 0);
  EXPECT_EQ(s["time_wait"]["unknown"], 0);
  server->stop();
}

// A service listening inside the ephemeral range: its TIME_WAIT could be either end, so unknown.
TEST_F(CensusLive, ListenerInsideEphemeralRangeIsUnknownWithANote)
{
  HostPair hp("cen5");
  auto server = start_server(
    hp.server, { "--bind", hp.server_v4, "--port", "45000", "--close-first", "--timeout-ms", "60000" });
  const auto res = run_client(hp.client, { "--connect", hp.server_v4, "--port", "45000", "--count", "50" });
  EXPECT_EQ(res.at("ok"), 50);
  settle(hp);
  const json s = census(hp.server);
  EXPECT_GE(s["time_wait"]["unknown"].get<long>(), 45);
  EXPECT_EQ(s["time_wait"]["outbound"], 0);
  EXPECT_EQ(s["time_wait"]["inbound"], 0);
  bool noted = false;
  for (const auto& n : s["notes"]) {
    noted = noted || n.get<std::string>().find("inside ip_local_port_range") != std::string::npos;
  }
  EXPECT_TRUE(noted) << s["notes"].dump();
  server->stop();
}

// Outbound TIME_WAIT made in one range, then the range moved: the sockets' ports are outside the
// current range with no listener. Nothing shows this host accepted them: unknown, with a note that
// the range changed, and in no destination group's pressure.
TEST_F(CensusLive, RangeMovedAfterOutboundTimeWaitMakesItUnknownNotInbound)
{
  HostPair hp("twjrange");
  hp.client.set_sysctl("net.ipv4.ip_local_port_range", "40000 40999");
  auto server =
    start_server(hp.server, { "--bind", hp.server_v4, "--port", "8083", "--timeout-ms", "60000" });
  const auto res =
    run_client(hp.client, { "--connect", hp.server_v4, "--port", "8083", "--count", "300", "--close-first" });
  EXPECT_EQ(res.at("ok"), 300);
  settle(hp);
  const json before = census(hp.client);
  const auto made = before["time_wait"]["outbound"].get<long>();
  // Most of them: a peer's RST ends some early under load (seen: 257 of 300); the test is about
  // where they go when the range moves, not how many there are.
  EXPECT_GE(made, 200) << before.dump();

  hp.client.set_sysctl("net.ipv4.ip_local_port_range", "50000 50999");
  const json c = census(hp.client);
  EXPECT_EQ(c["port_range"]["low"], 50000);
  EXPECT_EQ(c["time_wait"]["inbound"], 0) << c.dump(2);
  EXPECT_EQ(c["time_wait"]["outbound"], 0) << c.dump(2);
  // The same sockets (a few may expire or be reset in between, none is made).
  EXPECT_GE(c["time_wait"]["unknown"].get<long>(), made - 5) << c.dump(2);
  EXPECT_LE(c["time_wait"]["unknown"].get<long>(), made) << c.dump(2);
  EXPECT_EQ(c["time_wait"]["outside_range"], c["time_wait"]["unknown"]) << c.dump(2);
  EXPECT_EQ(find_group(c, hp.server_v4, 8083), nullptr)
    << "unknown sockets count towards no group: " << c.dump(2);
  bool noted = false;
  for (const auto& n : c["notes"]) {
    const auto text = n.get<std::string>();
    noted = noted || (text.find("outside the current ip_local_port_range 50000-50999") != std::string::npos &&
                      text.find("changed within the last 60 s") != std::string::npos);
  }
  EXPECT_TRUE(noted) << c["notes"].dump();
  server->stop();
}

// Held outbound connections: tcp_info says whether timestamps were negotiated, per peer.
TEST_F(CensusLive, TimestampShareFollowsWhatThePeerNegotiated)
{
  HostPair hp("cen6");
  auto server =
    start_server(hp.server, { "--bind", hp.server_v4, "--port", "8082", "--timeout-ms", "60000" });
  {
    BackgroundProcess client(hp.client.exec_argv({ required_env("TW_LOADGEN_BIN"),
                                                   "client",
                                                   "--connect",
                                                   hp.server_v4,
                                                   "--port",
                                                   "8082",
                                                   "--count",
                                                   "4",
                                                   "--hold",
                                                   "4",
                                                   "--hold-ms",
                                                   "30000" }));
    ASSERT_TRUE(client.wait_for_output("holding", std::chrono::seconds(20))) << client.output();
    const json c = census(hp.client);
    EXPECT_EQ(c["states"]["established"], 4);
    EXPECT_EQ(c["timestamps"]["outbound_established"], 4);
    EXPECT_EQ(c["timestamps"]["negotiated"], 4);
    EXPECT_DOUBLE_EQ(c["timestamps"]["share"].get<double>(), 1.0);
    // The same evidence per destination group, which is what the plan judges.
    const json* g = find_group(c, hp.server_v4, 8082);
    ASSERT_NE(g, nullptr) << c.dump();
    EXPECT_EQ((*g)["timestamps"]["outbound_established"], 4) << g->dump();
    EXPECT_EQ((*g)["timestamps"]["negotiated"], 4) << g->dump();
    EXPECT_TRUE(c["states"].contains("fin-wait-2")) << "orphaned FIN_WAIT2 minis are counted from the dump";
    const json s = census(hp.server);
    EXPECT_EQ(s["timestamps"]["outbound_established"], 0) << "accepted connections are not outbound";
  }
  hp.server.set_sysctl("net.ipv4.tcp_timestamps", "0");
  {
    BackgroundProcess client(hp.client.exec_argv({ required_env("TW_LOADGEN_BIN"),
                                                   "client",
                                                   "--connect",
                                                   hp.server_v4,
                                                   "--port",
                                                   "8082",
                                                   "--count",
                                                   "3",
                                                   "--hold",
                                                   "3",
                                                   "--hold-ms",
                                                   "30000" }));
    ASSERT_TRUE(client.wait_for_output("holding", std::chrono::seconds(20))) << client.output();
    const json c = census(hp.client);
    EXPECT_EQ(c["timestamps"]["outbound_established"], 3);
    EXPECT_EQ(c["timestamps"]["negotiated"], 0);
    EXPECT_DOUBLE_EQ(c["timestamps"]["share"].get<double>(), 0.0);
    // A peer that refuses timestamps: its group shows every live connection without them
    // (the first client's closed connections may linger in TIME_WAIT in the same group, but
    // TIME_WAIT sockets carry no tcp_info, so they do not count here).
    const json* g = find_group(c, hp.server_v4, 8082);
    ASSERT_NE(g, nullptr) << c.dump();
    EXPECT_EQ((*g)["timestamps"]["outbound_established"], 3) << g->dump();
    EXPECT_EQ((*g)["timestamps"]["negotiated"], 0) << g->dump();
    EXPECT_GE((*g)["in_use"].get<long>(), 3) << g->dump();
  }
  server->stop();
}

// The JSON state counts agree with `ss -tan` in the same namespace, once traffic has settled.
TEST_F(CensusLive, StateCountsAgreeWithSs)
{
  HostPair hp("cen7");
  auto server = start_server(hp.server, { "--bind", "::", "--port", "8083", "--timeout-ms", "60000" });
  run_client(hp.client, { "--connect", hp.server_v4, "--port", "8083", "--count", "150", "--close-first" });
  run_client(hp.client, { "--connect", hp.server_v6, "--port", "8083", "--count", "150", "--close-first" });
  BackgroundProcess held(hp.client.exec_argv({ required_env("TW_LOADGEN_BIN"),
                                               "client",
                                               "--connect",
                                               hp.server_v6,
                                               "--port",
                                               "8083",
                                               "--count",
                                               "5",
                                               "--hold",
                                               "5",
                                               "--hold-ms",
                                               "30000" }));
  ASSERT_TRUE(held.wait_for_output("holding", std::chrono::seconds(20))) << held.output();
  settle(hp);
  for (const Netns* ns : { &hp.client, &hp.server }) {
    const json c = census(*ns);
    const auto ss = ns->run_ok({ "ss", "-tan" });
    std::map<std::string, long> counts;
    long rows = 0;
    for (const auto line : split(ss.out, '\n')) {
      const auto fields = split_ws(line);
      if (fields.empty() || fields[0] == "State") {
        continue;
      }
      std::string name(fields[0]);
      for (auto& ch : name) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      counts[name == "estab" ? "established" : name]++;
      ++rows;
    }
    EXPECT_EQ(c["total"].get<long>(), rows) << ns->name() << "\n" << ss.out;
    for (const auto& [name, n] : counts) {
      ASSERT_TRUE(c["states"].contains(name)) << name;
      EXPECT_EQ(c["states"][name].get<long>(), n) << ns->name() << " state " << name;
    }
  }
  server->stop();
}

// A recording made while real sockets exist (outbound TIME_WAIT over IPv4 and IPv6, held
// ESTABLISHED connections with tcp_info, a reserved port range) replays to exactly the census the
// live run printed: in another namespace without those sockets, and after the recording
// namespace's own sysctls changed, since the recording carries its sysctls along.
TEST_F(CensusLive, RecordingReplaysToExactlyTheLiveCensus)
{
  struct RecordingDir
  {
    std::string path;
    RecordingDir()
    {
      char tmpl[] = "/tmp/twl-census-rec.XXXXXX";
      path = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
    }
    ~RecordingDir()
    {
      if (!path.empty()) {
        ::unlink((path + "/client.twdump").c_str());
        ::rmdir(path.c_str());
      }
    }
  } dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string rec = dir.path + "/client.twdump";
  const std::string bin = required_env("TW_ADVISOR_BIN");

  HostPair hp("twlrec");
  hp.client.set_sysctl("net.ipv4.ip_local_port_range", "41000 41999");
  hp.client.set_sysctl("net.ipv4.ip_local_reserved_ports", "41500-41509");
  auto server = start_server(hp.server, { "--bind", "::", "--port", "8084", "--timeout-ms", "60000" });
  EXPECT_EQ(
    run_client(hp.client, { "--connect", hp.server_v4, "--port", "8084", "--count", "100", "--close-first" })
      .at("ok"),
    100);
  EXPECT_EQ(
    run_client(hp.client, { "--connect", hp.server_v6, "--port", "8084", "--count", "50", "--close-first" })
      .at("ok"),
    50);
  BackgroundProcess held(hp.client.exec_argv({ required_env("TW_LOADGEN_BIN"),
                                               "client",
                                               "--connect",
                                               hp.server_v6,
                                               "--port",
                                               "8084",
                                               "--count",
                                               "3",
                                               "--hold",
                                               "3",
                                               "--hold-ms",
                                               "30000" }));
  ASSERT_TRUE(held.wait_for_output("holding", std::chrono::seconds(20))) << held.output();
  settle(hp);

  const auto live = hp.client.run({ bin, "census", "--dump-file", rec, "--format", "json", "--top", "50" });
  ASSERT_EQ(live.exit_code, 0) << live.err;
  const json c = json::parse(live.out);
  // Each of the 150 closes leaves TIME_WAIT here unless a reset from the server ended it early
  // (tcp_rfc1337=0): 17 of 100 went that way once under the sanitizer build with other tests
  // beside it. Most must show; the point here is that the replay matches the live run exactly.
  EXPECT_GE(c["time_wait"]["outbound"].get<long>(), 100) << c.dump(2);
  EXPECT_EQ(c["usable_ports"], 990);
  EXPECT_EQ(c["states"]["established"], 3);
  EXPECT_EQ(c["timestamps"]["negotiated"], 3);
  ASSERT_NE(find_group(c, hp.server_v4, 8084), nullptr) << c.dump(2);
  ASSERT_NE(find_group(c, hp.server_v6, 8084), nullptr) << c.dump(2);

  // Where none of these sockets exist: only the recording speaks.
  const auto elsewhere =
    hp.server.run({ bin, "census", "--from-dump", rec, "--format", "json", "--top", "50" });
  ASSERT_EQ(elsewhere.exit_code, 0) << elsewhere.err;
  // The same census, field for field; only the header says when and where this document was made.
  const auto body = [](const std::string& out) {
    auto doc = json::parse(out);
    doc.erase("generated_at");
    doc.erase("host");
    return doc;
  };
  EXPECT_EQ(body(elsewhere.out), body(live.out)) << elsewhere.out << live.out;

  // The recording namespace's sysctls change; the replay keeps the recorded ones.
  hp.client.set_sysctl("net.ipv4.ip_local_port_range", "50000 50999");
  hp.client.set_sysctl("net.ipv4.ip_local_reserved_ports", "50500-50509");
  const auto later = hp.client.run({ bin, "census", "--from-dump", rec, "--format", "json", "--top", "50" });
  ASSERT_EQ(later.exit_code, 0) << later.err;
  EXPECT_EQ(body(later.out), body(live.out));
  server->stop();
}

} // namespace
} // namespace tw::test
