// apply / rollback / status on a real kernel: every write happens inside a network namespace this
// test made (`ip netns exec`), and files go under a temp --root; never the host's /proc/sys or /etc.
// Each failpoint kills apply with SIGKILL at its step; rollback must then restore the runtime values
// and the sysctl.d directory exactly, with no temp file left.
#include "support/netns.hpp"
#include "support/text.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

std::atomic<int> g_run{ 0 };

const char* const k_reuse = "net.ipv4.tcp_tw_reuse";
const char* const k_range = "net.ipv4.ip_local_port_range";

struct FileState
{
  std::string bytes;
  unsigned mode = 0;
  bool operator==(const FileState&) const = default;
};

// Everything apply may touch: the two runtime keys and every entry of sysctl.d (hidden ones too).
struct HostState
{
  std::map<std::string, std::string> runtime;
  std::map<std::string, FileState> sysctld;
  bool operator==(const HostState&) const = default;
};

std::ostream& operator<<(std::ostream& os, const HostState& s)
{
  for (const auto& [k, v] : s.runtime) {
    os << k << "=" << v << "; ";
  }
  for (const auto& [name, f] : s.sysctld) {
    os << name << " (" << std::oct << f.mode << std::dec << ", " << f.bytes.size() << " bytes); ";
  }
  return os;
}

class ApplyLiveTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    TW_REQUIRE_NETNS();
    m_bin = required_env("TW_ADVISOR_BIN");
    m_loadgen = required_env("TW_LOADGEN_BIN");
    m_tmp = fs::temp_directory_path() /
            ("tw-apply-live-" + std::to_string(::getpid()) + "-" + std::to_string(g_run++));
    fs::remove_all(m_tmp);
    fs::create_directories(m_tmp / "root/etc/sysctl.d");
    put("root/etc/sysctl.d/10-base.conf", "net.ipv4.tcp_fin_timeout = 30\n", 0644);
    put("root/etc/sysctl.d/50-local.conf", "# local\nnet.ipv4.tcp_syncookies = 1\n", 0600);
    m_ns = std::make_unique<Netns>("apply");
    m_ns->set_sysctl(k_reuse, "0");
    m_ns->set_sysctl(k_range, "40000 40999");
    write_plan({ { k_range, "40000 40999", "10240 65535" }, { k_reuse, "0", "1" } });
  }

  void TearDown() override
  {
    m_ns.reset();
    if (!m_tmp.empty()) {
      fs::remove_all(m_tmp);
    }
  }

  void put(const std::string& rel, const std::string& text, unsigned mode)
  {
    std::ofstream(m_tmp / rel) << text;
    fs::permissions(m_tmp / rel, static_cast<fs::perms>(mode));
  }

  struct PlanChange
  {
    std::string key, current, target;
  };

  // A reviewed plan as `plan --out` writes it (doc/plan-schema.md).
  void write_plan(const std::vector<PlanChange>& changes,
                  const std::string& file = "plan.json",
                  const nlohmann::json& findings = nlohmann::json::array())
  {
    nlohmann::json c = nlohmann::json::array();
    for (const auto& ch : changes) {
      c.push_back({ { "key", ch.key }, { "old", ch.current }, { "new", ch.target }, { "reason", "test" } });
    }
    const nlohmann::json doc = { { "schema_version", 2 },
                                 { "verdict", "helps" },
                                 { "reasons", { "written by the apply live test" } },
                                 { "profile", "builtin" },
                                 { "policy", "builtin" },
                                 { "prerequisites", nlohmann::json::array() },
                                 { "changes", c },
                                 { "findings", findings },
                                 { "advice", nlohmann::json::array() },
                                 { "sockets", nlohmann::json::object() },
                                 { "facts", nlohmann::json::object() } };
    std::ofstream(m_tmp / file) << doc.dump(2);
  }

  HostState state() const
  {
    HostState s;
    s.runtime[k_reuse] = m_ns->get_sysctl(k_reuse);
    s.runtime[k_range] = m_ns->get_sysctl(k_range);
    for (const auto& e : fs::directory_iterator(m_tmp / "root/etc/sysctl.d")) {
      std::ifstream in(e.path());
      struct stat st
      {};
      ::lstat(e.path().c_str(), &st);
      s.sysctld[e.path().filename().string()] = { { std::istreambuf_iterator<char>(in), {} },
                                                  st.st_mode & 07777u };
    }
    return s;
  }

  std::vector<std::string> common() const
  {
    return { "--root", (m_tmp / "root").string(), "--state-dir", (m_tmp / "state").string() };
  }

  std::vector<std::string> apply_argv(std::vector<std::string> extra = {}) const
  {
    std::vector<std::string> argv = { m_bin, "apply", "--plan", (m_tmp / "plan.json").string(), "--yes" };
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto c = common();
    argv.insert(argv.end(), c.begin(), c.end());
    return argv;
  }

  RunResult apply(std::vector<std::string> extra = {}, std::vector<std::string> env = {}) const
  {
    return m_ns->run(apply_argv(std::move(extra)), env);
  }

  RunResult tool(const std::string& command, std::vector<std::string> extra = {}) const
  {
    std::vector<std::string> argv = { m_bin, command };
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto c = common();
    argv.insert(argv.end(), c.begin(), c.end());
    return m_ns->run(argv);
  }

  nlohmann::json status_json() const
  {
    const auto r = tool("status", { "--format", "json" });
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }

  static std::string sh_quote(const std::string& s) { return "'" + s + "'"; }

  // A shell script that starts apply_cmd in the background, waits (at most 20 s) until its output
  // shows marker, runs action, then waits for apply and exits with its code, its output on stdout.
  // Waiting for the marker instead of sleeping keeps the test right on a slow machine.
  std::string when_output_shows(const std::string& apply_cmd,
                                const std::string& marker,
                                const std::string& action) const
  {
    const auto log = sh_quote((m_tmp / "apply.log").string());
    return apply_cmd + " >" + log + " & pid=$!; i=0; while [ $i -lt 200 ] && ! grep -q " + sh_quote(marker) +
           " " + log + "; do sleep 0.1; i=$((i+1)); done; " + action + "; wait $pid; rc=$?; cat " + log +
           "; exit $rc";
  }

  std::string command_line(const std::vector<std::string>& argv) const
  {
    std::string out;
    for (const auto& a : argv) {
      out += (out.empty() ? "" : " ") + sh_quote(a);
    }
    return out;
  }

  std::string m_bin;
  std::string m_loadgen;
  fs::path m_tmp;
  std::unique_ptr<Netns> m_ns;
};

TEST_F(ApplyLiveTest, AppliesVerifiesPersistsAndRollsBackExactly)
{
  const auto before = state();
  const auto r = apply();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1");
  EXPECT_EQ(m_ns->get_sysctl(k_range), "10240 65535");
  const auto after = state();
  ASSERT_EQ(after.sysctld.count("90-tw-advisor.conf"), 1u) << after;
  const auto& text = after.sysctld.at("90-tw-advisor.conf").bytes;
  EXPECT_EQ(text.rfind("# Generated by tw-advisor", 0), 0u) << text;
  EXPECT_NE(text.find((m_tmp / "plan.json").string()), std::string::npos) << text;
  EXPECT_NE(text.find("net.ipv4.tcp_tw_reuse = 1\n"), std::string::npos) << text;

  auto st = status_json();
  EXPECT_EQ(st["condition"], "done");
  EXPECT_EQ(st["drifted"], false) << st.dump(2);
  EXPECT_TRUE(st["next"].is_null()) << st.dump(2);

  // Drift: someone changes the runtime value behind the tool's back; status says what to run.
  m_ns->set_sysctl(k_reuse, "2");
  st = status_json();
  EXPECT_EQ(st["drifted"], true) << st.dump(2);
  const auto drift_text = tool("status");
  EXPECT_NE(drift_text.out.find("drift: yes\n"), std::string::npos) << drift_text.out;
  // Both commands act on the tree and state dir this status read.
  const std::string at =
    " --root " + (m_tmp / "root").string() + " --state-dir " + (m_tmp / "state").string();
  EXPECT_NE(unwrapped(drift_text.out)
              .find(" Next: `tw-advisor plan" + at +
                    "` shows what this host needs now; `tw-advisor rollback" + at + "`"),
            std::string::npos)
    << drift_text.out;
  m_ns->set_sysctl(k_reuse, "1");

  const auto rb = tool("rollback");
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  EXPECT_EQ(state(), before);
  EXPECT_EQ(status_json()["condition"], "rolled-back");
  const auto again = tool("rollback");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  // Said once, how: "was already rolled back on request (COMMAND)".
  EXPECT_NE(again.out.find("nothing to roll back: the last apply ("), std::string::npos) << again.out;
  EXPECT_NE(again.out.find(") was already rolled back on request ("), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("rolled back (rolled back"), std::string::npos) << again.out;
}

// Every key written is audited (one line each on stderr where there is no journal, with the
// fields journald gets), so is the rollback; both applies are kept for status --history, newest
// first, in the state they ended in.
TEST_F(ApplyLiveTest, EveryChangeIsAuditedAndKeptForStatusHistory)
{
  const std::vector<std::string> audit_env = { "TW_ADVISOR_AUDIT=stderr" };
  const auto lines_of = [](const std::string& err, const std::string& message_id) {
    std::vector<std::string> out;
    for (const auto& line : split(err, '\n')) {
      if (line.rfind("tw-advisor audit: MESSAGE_ID=" + message_id + " ", 0) == 0) {
        out.emplace_back(line);
      }
    }
    return out;
  };
  const auto r = apply({}, audit_env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto applied = lines_of(r.err, "c385e0a2b9fb4d678664bf357bd0eeb0");
  ASSERT_EQ(applied.size(), 2u) << r.err;
  const std::string sha = status_json()["apply"]["plan"]["sha256"].get<std::string>();
  const std::string id = status_json()["apply"]["id"].get<std::string>();
  const std::string inode =
    std::string(trim(m_ns->run({ "stat", "-L", "-c", "%i", "/proc/self/ns/net" }).out));
  bool reuse = false;
  for (const auto& line : applied) {
    EXPECT_NE(line.find(" TW_ADVISOR_EVENT=applied "), std::string::npos) << line;
    EXPECT_NE(line.find(" TW_ADVISOR_PLAN_SHA256=" + sha), std::string::npos) << line;
    EXPECT_NE(line.find(" TW_ADVISOR_JOURNAL=" + id), std::string::npos) << line;
    EXPECT_NE(line.find(" TW_ADVISOR_NETNS=" + inode), std::string::npos) << line;
    reuse = reuse || line.find(" TW_ADVISOR_KEY=net.ipv4.tcp_tw_reuse TW_ADVISOR_OLD=0 TW_ADVISOR_NEW=1 ") !=
                       std::string::npos;
  }
  EXPECT_TRUE(reuse) << r.err;

  std::vector<std::string> rollback = { m_bin, "rollback" };
  for (const auto& c : common()) {
    rollback.push_back(c);
  }
  const auto rb = m_ns->run(rollback, audit_env);
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  const auto undone = lines_of(rb.err, "3187219803ca4cfeb4953bcc102fe146");
  ASSERT_EQ(undone.size(), 2u) << rb.err;
  EXPECT_NE(undone[0].find(" TW_ADVISOR_REASON='rolled back on request"), std::string::npos) << undone[0];

  const auto second = apply({}, audit_env);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto history = tool("status", { "--history", "--format", "json" });
  ASSERT_EQ(history.exit_code, 0) << history.err;
  const auto j = nlohmann::json::parse(history.out)["history"];
  ASSERT_EQ(j["applies"].size(), 2u) << j.dump(2);
  EXPECT_EQ(j["applies"][0]["state"], "done") << j.dump(2);
  EXPECT_EQ(j["applies"][1]["state"], "rolled-back") << j.dump(2);
  EXPECT_EQ(j["applies"][1]["id"], id) << j.dump(2);
  EXPECT_EQ(j["applies"][1]["changes"].size(), 2u) << j.dump(2);
  EXPECT_TRUE(j["problems"].empty()) << j.dump(2);
  const auto text = tool("status", { "--history" });
  EXPECT_NE(text.out.find("history: 2 finished applies kept"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  " + id + "  rolled-back\n"), std::string::npos) << text.out;
  // The history fits 80 columns (the token it cannot break: the plan's path).
  for (const auto& line : split(text.out.substr(text.out.find("history: ")), '\n')) {
    EXPECT_TRUE(line.size() <= 80u || line.find(' ', 6) == std::string::npos ||
                line.find((m_tmp / "plan.json").string()) != std::string::npos)
      << line;
  }
  EXPECT_EQ(tool("rollback").exit_code, 0);
}

class ApplyFailpointTest
  : public ApplyLiveTest
  , public ::testing::WithParamInterface<const char*>
{};

TEST_P(ApplyFailpointTest, KilledApplyIsUndoneExactlyByRollback)
{
  const std::string point = GetParam();
  const auto before = state();
  const auto r = apply({}, { std::string("TW_ADVISOR_FAILPOINT=") + point });
  ASSERT_EQ(r.exit_code, 128 + 9) << "apply was not SIGKILLed at " << point << ": " << r.out << r.err;

  // The kill really happened where the failpoint says.
  const auto killed = state();
  if (point == "after-journal") {
    EXPECT_EQ(killed, before);
  } else if (point == "mid-runtime") {
    EXPECT_EQ(killed.runtime.at(k_range), "10240 65535");
    EXPECT_EQ(killed.runtime.at(k_reuse), "0");
  } else if (point == "after-runtime") {
    EXPECT_EQ(killed.runtime.at(k_reuse), "1");
    EXPECT_EQ(killed.sysctld, before.sysctld);
  } else if (point == "mid-persist") {
    EXPECT_EQ(killed.sysctld.count(".90-tw-advisor.conf.tw-advisor-tmp"), 1u) << killed;
    EXPECT_EQ(killed.sysctld.count("90-tw-advisor.conf"), 0u) << killed;
  } else if (point == "after-persist") {
    EXPECT_EQ(killed.sysctld.count("90-tw-advisor.conf"), 1u) << killed;
  }
  EXPECT_EQ(status_json()["condition"], "interrupted");

  // A new apply refuses until the interrupted one is undone.
  const auto blocked = apply();
  EXPECT_EQ(blocked.exit_code, 1);
  EXPECT_NE(blocked.err.find("tw-advisor rollback"), std::string::npos) << blocked.err;

  const auto rb = tool("rollback");
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  EXPECT_EQ(state(), before);
  EXPECT_EQ(status_json()["condition"], "rolled-back");

  // And the host can be applied to again afterwards.
  const auto second = apply();
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(tool("rollback").exit_code, 0);
  EXPECT_EQ(state(), before);
}

INSTANTIATE_TEST_SUITE_P(
  EveryStep,
  ApplyFailpointTest,
  ::testing::Values("after-journal", "mid-runtime", "after-runtime", "mid-persist", "after-persist"),
  [](const auto& param_info) {
    std::string name = param_info.param;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  });

TEST_F(ApplyLiveTest, UnknownFailpointIsRefused)
{
  const auto before = state();
  const auto r = apply({}, { "TW_ADVISOR_FAILPOINT=mid-journal" });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a failpoint"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
}

TEST_F(ApplyLiveTest, ReadOnlySysctldFailsBeforeAnyChange)
{
  const auto before = state();
  const auto dir = (m_tmp / "root/etc/sysctl.d").string();
  // A private mount namespace (unshare -m) makes the read-only bind mount vanish with the shell.
  const auto r =
    m_ns->run({ "unshare",
                "-m",
                "sh",
                "-c",
                "mount --bind " + sh_quote(dir) + " " + sh_quote(dir) + " && mount -o remount,bind,ro " +
                  sh_quote(dir) + " && exec " + command_line(apply_argv()) });
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(dir), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
}

TEST_F(ApplyLiveTest, SysctldTurningReadOnlyDuringTheWatchRollsBackTheRuntime)
{
  const auto before = state();
  const auto dir = (m_tmp / "root/etc/sysctl.d").string();
  // Once apply measures its baseline it has passed the pre-checks; the directory then becomes
  // read-only, so the persist step after the 4 s watch fails and everything must roll back.
  const auto script = when_output_shows(command_line(apply_argv({ "--watch", "4s" })),
                                        "measuring the baseline",
                                        "mount --bind " + sh_quote(dir) + " " + sh_quote(dir) +
                                          " && mount -o remount,bind,ro " + sh_quote(dir));
  const auto r = m_ns->run({ "unshare", "-m", "sh", "-c", script });
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("set net.ipv4.tcp_tw_reuse = 1"), std::string::npos)
    << r.out; // it did change the runtime
  EXPECT_NE(r.err.find("rolled back"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
  EXPECT_EQ(status_json()["condition"], "rolled-back");
}

TEST_F(ApplyLiveTest, SecondConcurrentApplyIsRefusedNamingTheHolder)
{
  const auto before = state();
  BackgroundProcess first(m_ns->exec_argv(apply_argv({ "--watch", "3s" })));
  ASSERT_TRUE(first.wait_for_output("measuring the baseline", std::chrono::seconds(20))) << first.output();
  const auto second = apply();
  EXPECT_EQ(second.exit_code, 4) << "a held lock is its own exit code"; // nothing done: retry later
  EXPECT_NE(second.err.find("holds"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid "), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("--watch 3s"), std::string::npos) << second.err; // the holder's command
  ASSERT_TRUE(first.wait_for_output("applied (journal", std::chrono::seconds(30))) << first.output();
  EXPECT_EQ(first.stop(), 0);
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1");
  EXPECT_EQ(tool("rollback").exit_code, 0);
  EXPECT_EQ(state(), before);
}

TEST_F(ApplyLiveTest, StalePlanIsRefusedAndNothingChanges)
{
  m_ns->set_sysctl(k_reuse, "2"); // the host moved on after the plan was made
  const auto before = state();
  const auto r = apply();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("net.ipv4.tcp_tw_reuse is \"2\" but the plan saw \"0\""), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
  EXPECT_FALSE(fs::exists(m_tmp / "state/journal.json"));
}

TEST_F(ApplyLiveTest, MalformedPlansAreRefused)
{
  const auto before = state();
  for (const char* text : { "{\"changes\": [",
                            "[]",
                            "{\"changes\": [{\"key\": 1}]}",
                            "",
                            "{\"schema_version\": 99, \"changes\": []}" }) {
    std::ofstream(m_tmp / "plan.json") << text;
    const auto r = apply();
    EXPECT_EQ(r.exit_code, 1) << text;
    EXPECT_NE(r.err.find("plan.json"), std::string::npos) << text << ": " << r.err;
    EXPECT_EQ(state(), before) << text;
  }
}

TEST_F(ApplyLiveTest, PlanWithoutChangesIsNothingToDo)
{
  write_plan({});
  const auto before = state();
  const auto r = apply();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("proposes no changes"), std::string::npos) << r.out;
  EXPECT_EQ(state(), before);
  EXPECT_FALSE(fs::exists(m_tmp / "state/journal.json"));
}

TEST_F(ApplyLiveTest, NewlineInAValueIsRefused)
{
  write_plan({ { k_reuse, "0", "1\nkernel.panic = 1" } });
  const auto before = state();
  const auto r = apply();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("control character"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
  EXPECT_FALSE(fs::exists(m_tmp / "state/journal.json"));
}

TEST_F(ApplyLiveTest, TraversalKeyIsRefused)
{
  write_plan({ { "net.ipv4.conf...tcp_tw_reuse", "0", "1" } });
  const auto before = state();
  auto r = apply();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("net.ipv4.conf...tcp_tw_reuse\" is not a"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sysctl name"), std::string::npos) << r.err;
  write_plan({ { "net/ipv4/../ipv4/tcp_tw_reuse", "0", "1" } });
  r = apply();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("sysctl name"), std::string::npos) << r.err;
  write_plan({ { "kernel.panic", "0", "1" } });
  r = apply();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not among the keys the policy allows"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
}

TEST_F(ApplyLiveTest, WatchTripsOnFailingConnectsAndRollsBackWithExit3)
{
  const auto before = state();
  // Connects to a closed port on loopback are refused: each one raises Tcp.AttemptFails. They start
  // once the watch has begun (after the baseline), far over the default 5/s rule.
  const auto script = when_output_shows(command_line(apply_argv({ "--watch", "10s" })),
                                        "watching the health counters",
                                        command_line({ m_loadgen,
                                                       "client",
                                                       "--connect",
                                                       "127.0.0.1",
                                                       "--port",
                                                       "9",
                                                       "--count",
                                                       "400",
                                                       "--timeout-ms",
                                                       "5000" }) +
                                          " >/dev/null");
  const auto r = m_ns->run({ "sh", "-c", script }, { "TW_ADVISOR_AUDIT=stderr" });
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("rolled back by the watch"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("tw-advisor audit: MESSAGE_ID=d03ff942b65147d3b60448bf79d731e0 "), std::string::npos)
    << r.err;
  EXPECT_NE(r.err.find(" TW_ADVISOR_EVENT=watch-rolled-back TW_ADVISOR_KEY=net.ipv4.tcp_tw_reuse"),
            std::string::npos)
    << r.err;
  EXPECT_NE(r.out.find("Tcp.AttemptFails"), std::string::npos) << r.out;
  EXPECT_EQ(state(), before);
  const auto st = status_json();
  EXPECT_EQ(st["condition"], "rolled-back");
  EXPECT_NE(st["apply"]["reason"].get<std::string>().find("watch"), std::string::npos) << st.dump(2);
}

TEST_F(ApplyLiveTest, ClosedOutputPipeNeverStopsAnApplyHalfWay)
{
  // The reader quits as soon as the apply starts writing, as `| head -1` does. By default SIGPIPE
  // would kill apply at its next line, runtime changed and nothing persisted; it must run to its
  // end instead (watch included), with or without a file to persist.
  for (const bool persist : { true, false }) {
    SCOPED_TRACE(persist ? "persist" : "--no-persist");
    std::vector<std::string> extra = { "--watch", "2s" };
    if (!persist) {
      extra.emplace_back("--no-persist");
    }
    const std::string script = "set -o pipefail; " + command_line(apply_argv(extra)) + " 2>" +
                               sh_quote((m_tmp / "apply.err").string()) +
                               " | head -c 1 >/dev/null; echo \"apply exit ${PIPESTATUS[0]}\"";
    const auto r = m_ns->run({ "bash", "-c", script });
    std::ifstream err_in(m_tmp / "apply.err");
    const std::string err((std::istreambuf_iterator<char>(err_in)), {});
    EXPECT_NE(r.out.find("apply exit 0"), std::string::npos) << r.out << err;
    const auto st = status_json();
    EXPECT_EQ(st["condition"], "done") << st.dump(2);
    EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1");
    EXPECT_EQ(state().sysctld.count("90-tw-advisor.conf"), persist ? 1U : 0U);
    ASSERT_EQ(tool("rollback").exit_code, 0);
  }
}

TEST_F(ApplyLiveTest, SourceNatWithoutAWatchIsWarnedAbout)
{
  const nlohmann::json nat = nlohmann::json::array({ { { "id", "source-nat" },
                                                       { "severity", "warning" },
                                                       { "summary", "nft ip nat postrouting: masquerade" },
                                                       { "evidence", { { "snat_entries", 12 } } },
                                                       { "rationale", "test" } } });
  write_plan({ { k_reuse, "0", "1" } }, "plan.json", nat);
  const auto unwatched = apply({ "--no-persist" });
  ASSERT_EQ(unwatched.exit_code, 0) << unwatched.out << unwatched.err;
  EXPECT_NE(unwatched.out.find("warning: the plan found source NAT in the path"), std::string::npos)
    << unwatched.out;
  ASSERT_EQ(tool("rollback").exit_code, 0);

  const auto as_json = apply({ "--no-persist", "--format", "json" });
  ASSERT_EQ(as_json.exit_code, 0) << as_json.out << as_json.err;
  const auto doc = nlohmann::json::parse(as_json.out);
  ASSERT_EQ(doc.at("warnings").size(), 1U) << as_json.out;
  EXPECT_NE(doc["warnings"][0].get<std::string>().find("prefer --canary"), std::string::npos) << as_json.out;
  ASSERT_EQ(tool("rollback").exit_code, 0);

  const auto watched = apply({ "--no-persist", "--watch", "1s" });
  ASSERT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  EXPECT_EQ(watched.out.find("warning: the plan found source NAT"), std::string::npos) << watched.out;
  ASSERT_EQ(tool("rollback").exit_code, 0);

  write_plan({ { k_reuse, "0", "1" } }); // no NAT finding: no warning
  const auto plain = apply({ "--no-persist" });
  ASSERT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  EXPECT_EQ(plain.out.find("source NAT"), std::string::npos) << plain.out;
}

TEST_F(ApplyLiveTest, PolicyWatchIsTheDefaultForAPlainApply)
{
  const auto policy = m_tmp / "watching.yaml";
  std::ofstream(policy) << "id: watching\ndescription: d\nrationale: r\nwatch:\n  duration_seconds:\n"
                           "    value: 2\n    description: d\n    rationale: r\n";
  const auto r = apply({ "--policy", policy.string() });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("watching the health counters for 2 s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("watch passed"), std::string::npos) << r.out;
  // --watch 0 still turns it off.
  ASSERT_EQ(tool("rollback").exit_code, 0);
  const auto off = apply({ "--policy", policy.string(), "--watch", "0" });
  EXPECT_EQ(off.exit_code, 0) << off.out << off.err;
  EXPECT_EQ(off.out.find("watching the health counters"), std::string::npos) << off.out;
}

TEST_F(ApplyLiveTest, QuietWatchPassesAndPersists)
{
  const auto r = apply({ "--watch", "2s" });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("watch passed"), std::string::npos) << r.out;
  EXPECT_EQ(state().sysctld.count("90-tw-advisor.conf"), 1u);
}

TEST_F(ApplyLiveTest, CanaryNotSelectedChangesNothing)
{
  const auto before = state();
  const auto r = apply({ "--canary", "--canary-percent", "0", "--host-id", "some-host" });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("not in the canary cohort"), std::string::npos) << r.out;
  EXPECT_EQ(state(), before);
  EXPECT_FALSE(fs::exists(m_tmp / "state"));
}

TEST_F(ApplyLiveTest, CanarySelectedAppliesWithItsHostId)
{
  put("root/etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0444);
  const auto r = apply({ "--canary", "--canary-percent", "100", "--watch", "0" });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("in the canary cohort"), std::string::npos) << r.out;
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1");
}

TEST_F(ApplyLiveTest, NoTerminalAndNoYesRefuses)
{
  const auto before = state();
  const auto r = m_ns->run({ m_bin,
                             "apply",
                             "--plan",
                             (m_tmp / "plan.json").string(),
                             "--root",
                             (m_tmp / "root").string(),
                             "--state-dir",
                             (m_tmp / "state").string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
}

TEST_F(ApplyLiveTest, OverriddenAtBootIsRefusedNamingTheFile)
{
  put("root/etc/sysctl.d/99-sysctl.conf", "net.ipv4.tcp_tw_reuse = 0\n", 0644);
  const auto before = state();
  const auto r = apply();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("99-sysctl.conf"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
  // --no-persist changes the runtime only.
  const auto runtime_only = apply({ "--no-persist" });
  EXPECT_EQ(runtime_only.exit_code, 0) << runtime_only.err;
  EXPECT_EQ(state().sysctld, before.sysctld);
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1");
}

TEST_F(ApplyLiveTest, FreshPlanFromRealPortPressureIsAppliedAndRolledBack)
{
  // A server namespace joined to the test's namespace by veth (198.18.250.0/24, only between the two).
  Netns server("srv");
  link_namespaces(server, *m_ns, { .a_v4 = "198.18.250.2/24", .b_v4 = "198.18.250.1/24" });

  // 900 client-closed connections in a 1000-port range: outbound TIME_WAIT pressure of 0.9.
  BackgroundProcess srv(server.exec_argv({ m_loadgen,
                                           "server",
                                           "--bind",
                                           "198.18.250.2",
                                           "--port",
                                           "8080",
                                           "--count",
                                           "900",
                                           "--timeout-ms",
                                           "60000" }));
  ASSERT_TRUE(srv.wait_for_output("ready", std::chrono::seconds(10))) << srv.output();
  const auto client = m_ns->run({ m_loadgen,
                                  "client",
                                  "--connect",
                                  "198.18.250.2",
                                  "--port",
                                  "8080",
                                  "--count",
                                  "900",
                                  "--close-first" });
  ASSERT_EQ(client.exit_code, 0) << client.err;
  ASSERT_NE(client.out.find("ok=900"), std::string::npos) << client.out;

  const auto before = state();
  const std::vector<std::string> argv = {
    m_bin, "apply", "--yes", "--root", (m_tmp / "root").string(), "--state-dir", (m_tmp / "state").string()
  };
  const auto r = m_ns->run(argv);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("applied (journal"), std::string::npos) << r.out;
  // The undo command on a line of its own, whole, with the options this apply was given.
  EXPECT_NE(r.out.find("); undo with:\n  tw-advisor rollback --root " + (m_tmp / "root").string() +
                       " --state-dir " + (m_tmp / "state").string() + "\n"),
            std::string::npos)
    << r.out;
  const auto st = status_json();
  EXPECT_EQ(st["condition"], "done");
  EXPECT_NE(st["apply"]["plan"]["source"].get<std::string>().find("computed"), std::string::npos)
    << st.dump(2);
  ASSERT_FALSE(st["keys"].empty()) << st.dump(2);
  bool reuse_changed = false;
  for (const auto& k : st["keys"]) {
    EXPECT_EQ(k["runtime"], k["new"]) << k.dump();
    reuse_changed = reuse_changed || k["key"] == k_reuse;
  }
  EXPECT_TRUE(reuse_changed) << st.dump(2);

  ASSERT_EQ(tool("rollback").exit_code, 0);
  EXPECT_EQ(state(), before);
  const auto restored = status_json(); // named: a range-for over a temporary's member dangles
  for (const auto& k : restored["keys"]) {
    EXPECT_EQ(k["runtime"], k["old"]) << k.dump();
  }
  srv.stop();
}

// The lock covers the namespace and the root, not the state dir: a second apply with its own
// --state-dir would otherwise run beside the first, and rolling both back would leave the file and
// the runtime disagreeing. status meanwhile says an apply is in progress, though no journal exists.
TEST_F(ApplyLiveTest, AnotherStateDirCannotApplyBesideARunningApply)
{
  const auto before = state();
  BackgroundProcess first(m_ns->exec_argv(apply_argv({ "--watch", "3s" })));
  ASSERT_TRUE(first.wait_for_output("measuring the baseline", std::chrono::seconds(20))) << first.output();
  const auto status = tool("status", { "--format", "json" });
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out)["condition"], "in-progress") << status.out;
  const auto second = m_ns->run({ m_bin,
                                  "apply",
                                  "--plan",
                                  (m_tmp / "plan.json").string(),
                                  "--yes",
                                  "--root",
                                  (m_tmp / "root").string(),
                                  "--state-dir",
                                  (m_tmp / "state-2").string() });
  EXPECT_EQ(second.exit_code, 4) << second.out; // the lock is held: nothing done, retry later
  EXPECT_NE(second.err.find("network namespace"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("--watch 3s"), std::string::npos) << second.err; // the holder's command
  EXPECT_FALSE(fs::exists(m_tmp / "state-2/journal.json"));
  ASSERT_TRUE(first.wait_for_output("applied (journal", std::chrono::seconds(30))) << first.output();
  EXPECT_EQ(first.stop(), 0);
  // The namespace's lock file goes with the lock: nothing is left in /run/lock/tw-advisor.
  struct stat ns
  {};
  ASSERT_EQ(::stat(("/run/netns/" + m_ns->name()).c_str(), &ns), 0);
  EXPECT_FALSE(fs::exists("/run/lock/tw-advisor/netns-" + std::to_string(ns.st_ino) + ".lock"));
  EXPECT_EQ(tool("rollback").exit_code, 0);
  EXPECT_EQ(state(), before);
}

// "Already applied" means runtime and boot configuration both hold the plan: a deleted generated
// file is written again (journaled), never reported as converged.
TEST_F(ApplyLiveTest, DeletedGeneratedFileIsPersistedAgain)
{
  const auto before = state();
  const auto first = apply();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const auto applied = state();
  fs::remove(m_tmp / "root/etc/sysctl.d/90-tw-advisor.conf");
  const auto again = apply({ "--format", "json" });
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["outcome"], "applied") << again.out;
  EXPECT_NE(again.err.find("does not set them"), std::string::npos) << again.err;
  const auto rewritten = state();
  EXPECT_EQ(rewritten.runtime, applied.runtime);
  ASSERT_EQ(rewritten.sysctld.count("90-tw-advisor.conf"), 1u);
  EXPECT_NE(rewritten.sysctld.at("90-tw-advisor.conf").bytes.find("net.ipv4.tcp_tw_reuse = 1"),
            std::string::npos);
  const auto third = apply({ "--format", "json" });
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(nlohmann::json::parse(third.out)["outcome"], "already-applied") << third.out;
  // Its snapshot is what it found: its rollback removes the file and keeps the runtime values. The
  // values from before the first apply were said, since its journal replaced the first one's.
  EXPECT_NE(
    test::unwrapped(again.err).find("changed net.ipv4.tcp_tw_reuse from 0 to 1; this one only persists it"),
    std::string::npos)
    << again.err;
  const auto undone = tool("rollback");
  EXPECT_EQ(undone.exit_code, 0) << undone.out << undone.err;
  EXPECT_EQ(state().sysctld.count("90-tw-advisor.conf"), 0u);
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1");
  m_ns->set_sysctl(k_reuse, "0");
  m_ns->set_sysctl(k_range, "40000 40999");
  EXPECT_EQ(state(), before);
}

// The journal names the namespace its runtime keys were written in. From another one, status does
// not call that namespace's values drift, and both status and rollback name the --netns to use.
TEST_F(ApplyLiveTest, StatusAndRollbackFromAnotherNamespaceNameTheApplysOne)
{
  const auto applied = apply();
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  const Netns other("other");
  std::vector<std::string> argv = { m_bin, "status", "--detailed-exitcode" };
  const auto c = common();
  argv.insert(argv.end(), c.begin(), c.end());
  const auto status = other.run(argv);
  // Its keys are the kernel's defaults, not what the apply wrote; the files still match.
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(unwrapped(status.out).find("drift: none in the files; runtime values not judged"),
            std::string::npos)
    << status.out;
  // The commands it names reach the apply's namespace and state as printed: pasted, they work.
  const std::string there = "--netns " + m_ns->name() + " --root " + (m_tmp / "root").string() +
                            " --state-dir " + (m_tmp / "state").string();
  EXPECT_NE(unwrapped(status.out).find("`tw-advisor status " + there + "`"), std::string::npos) << status.out;
  auto json_argv = argv;
  json_argv.emplace_back("--format");
  json_argv.emplace_back("json");
  const auto as_json = other.run(json_argv);
  EXPECT_EQ(nlohmann::json::parse(as_json.out).at("runtime_judged"), false) << as_json.out;
  const auto pasted = other.run({ "sh", "-c", m_bin + " status --detailed-exitcode " + there });
  EXPECT_EQ(pasted.exit_code, 0) << pasted.out << pasted.err;
  EXPECT_NE(pasted.out.find("drift: none\n"), std::string::npos) << pasted.out;
  argv[1] = "rollback";
  argv.erase(argv.begin() + 2);
  const auto refused = other.run(argv);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(unwrapped(refused.err).find("`tw-advisor rollback " + there + "`"), std::string::npos)
    << refused.err;
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "1"); // nothing was undone from the wrong namespace
  const auto undone = other.run({ "sh", "-c", m_bin + " rollback " + there });
  EXPECT_EQ(undone.exit_code, 0) << undone.out << undone.err;
  EXPECT_EQ(m_ns->get_sysctl(k_reuse), "0");
}

// The kernel refuses an inverted range with EINVAL; apply refuses it first, before any write.
TEST_F(ApplyLiveTest, InvertedPortRangeIsRefusedBeforeAnyWrite)
{
  write_plan({ { k_range, "40000 40999", "65535 1024" } });
  const auto before = state();
  const auto r = apply();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("the low port 65535 is above the high port 1024"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
  EXPECT_FALSE(fs::exists(m_tmp / "state"));
}

// A policy whose watch names a counter that does not exist (a typo) would pass every watch.
TEST_F(ApplyLiveTest, PolicyWatchingAMisspelledCounterIsRefused)
{
  std::ofstream(m_tmp / "typo.yaml")
    << "id: typo\ndescription: d\nrationale: r\n"
       "guardrails:\n"
       "  - id: reuse\n    key: net.ipv4.tcp_tw_reuse\n    min: 0\n    max: 2\n"
       "    description: d\n    rationale: r\n"
       "watch:\n  rules:\n    - id: fails\n      counter: Tcp.AttemptFail\n"
       "      max_rise_per_second: 24\n      description: d\n      rationale: r\n";
  write_plan({ { k_reuse, "0", "1" } });
  const auto before = state();
  const auto r = apply({ "--watch", "2s", "--policy", (m_tmp / "typo.yaml").string() });
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("typo.yaml:14:16"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean Tcp.AttemptFails?"), std::string::npos) << r.err;
  EXPECT_EQ(state(), before);
}

} // namespace
} // namespace tw::test
