// The whole apply / rollback / status cycle against a fake /proc/sys tree and a temp --root:
// the same code the binary runs, minus the kernel (the live tests add the kernel).
#include "apply/engine.hpp"
#include "state/journal.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tw {
namespace {

class Collect : public ApplyObserver
{
public:
  void step(const std::string& message) override { steps.push_back(message); }
  void watch_sample(const WatchSample& sample, std::chrono::seconds) override { samples.push_back(sample); }
  std::vector<std::string> steps;
  std::vector<WatchSample> samples;
};

class ApplyEngineTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_base = std::filesystem::temp_directory_path() / ("tw-engine-" + std::to_string(::getpid()));
    std::filesystem::remove_all(m_base);
    std::filesystem::create_directories(m_base / "proc/net/ipv4");
    std::filesystem::create_directories(m_base / "root/etc/sysctl.d");
    put("proc/net/ipv4/tcp_tw_reuse", "2\n");
    put("proc/net/ipv4/ip_local_port_range", "32768\t60999\n");
    put("root/etc/sysctl.d/10-base.conf", "net.ipv4.tcp_fin_timeout = 30\n");
  }
  void TearDown() override { std::filesystem::remove_all(m_base); }

  void put(const std::string& rel, const std::string& text) { std::ofstream(m_base / rel) << text; }
  std::string get(const std::string& rel) const
  {
    std::ifstream in(m_base / rel);
    return { std::istreambuf_iterator<char>(in), {} };
  }
  std::map<std::string, std::string> sysctld() const
  {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(m_base / "root/etc/sysctl.d")) {
      out[e.path().filename().string()] = get("root/etc/sysctl.d/" + e.path().filename().string());
    }
    return out;
  }

  ApplyRequest request() const
  {
    ApplyRequest r;
    r.changes = { { "net.ipv4.tcp_tw_reuse", "2", "1" },
                  { "net.ipv4.ip_local_port_range", "32768 60999", "10240 65535" } };
    r.allowed_keys = { "net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range" };
    r.check_current = true;
    r.plan_source = "/tmp/plan.json";
    r.plan_sha256 = "feed";
    r.root = m_base / "root";
    r.state_dir = m_base / "state";
    r.proc_sys = m_base / "proc";
    r.lock_dir = m_base / "locks";
    r.command = "test";
    return r;
  }

  // What rollback and status work on: the same fake tree as request().
  Target target() const
  {
    return Target{ m_base / "root", m_base / "state", m_base / "proc", m_base / "locks" };
  }

  std::filesystem::path m_base;
  Collect m_obs;
};

// Health counters that never move: a watch over them judges only what else it is given.
Counters quiet_counters()
{
  Counters c;
  c.available = true;
  c.values["Tcp.AttemptFails"] = 0;
  return c;
}

TEST_F(ApplyEngineTest, AppliesPersistsAndRollsBackExactly)
{
  const auto before = sysctld();
  {
    Applier applier(request());
    applier.prepare();
    ASSERT_EQ(applier.changes().size(), 2u);
    EXPECT_EQ(applier.changes()[1].old_value, "32768 60999");
    const auto outcome = applier.execute(m_obs);
    EXPECT_EQ(outcome.result, ApplyResult::applied);
  }
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");
  EXPECT_EQ(get("proc/net/ipv4/ip_local_port_range"), "10240 65535\n");
  const auto written = get("root/etc/sysctl.d/90-tw-advisor.conf");
  EXPECT_NE(written.find("net.ipv4.tcp_tw_reuse = 1\n"), std::string::npos) << written;
  EXPECT_NE(written.find("feed"), std::string::npos) << written;

  auto status = read_status(target(), {});
  EXPECT_STREQ(to_string(status.condition), "done");
  EXPECT_FALSE(status.drifted);

  const auto rb = rollback_last_apply(target(), "rollback", m_obs);
  EXPECT_TRUE(rb.had_journal);
  EXPECT_EQ(rb.previous_state, "done");
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
  EXPECT_EQ(get("proc/net/ipv4/ip_local_port_range"), "32768 60999\n");
  EXPECT_EQ(sysctld(), before);

  status = read_status(target(), {});
  EXPECT_STREQ(to_string(status.condition), "rolled-back");
  EXPECT_FALSE(status.drifted);
  // A second rollback has nothing left to do.
  EXPECT_TRUE(rollback_last_apply(target(), "rollback", m_obs).already_final);
}

TEST_F(ApplyEngineTest, SecondApplyKeepsFirstKeysAndRollbackRestoresFirstFile)
{
  auto first = request();
  first.changes.pop_back();
  first.allowed_keys.erase("net.ipv4.ip_local_port_range");
  {
    Applier a(first);
    a.prepare();
    a.execute(m_obs);
  }
  const auto after_first = sysctld();
  auto second = request();
  second.changes = { { "net.ipv4.ip_local_port_range", "32768 60999", "10240 65535" } };
  {
    Applier a(second);
    a.prepare();
    a.execute(m_obs);
  }
  const auto both = get("root/etc/sysctl.d/90-tw-advisor.conf");
  EXPECT_NE(both.find("net.ipv4.tcp_tw_reuse = 1"), std::string::npos) << both;
  EXPECT_NE(both.find("net.ipv4.ip_local_port_range = 10240 65535"), std::string::npos) << both;
  rollback_last_apply(target(), "rollback", m_obs);
  EXPECT_EQ(sysctld(), after_first);
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");
}

TEST_F(ApplyEngineTest, DriftFromThePlanRefusesBeforeAnyChange)
{
  put("proc/net/ipv4/tcp_tw_reuse", "0\n");
  Applier a(request());
  try {
    a.prepare();
    FAIL() << "accepted a drifted host";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("net.ipv4.tcp_tw_reuse is \"0\" but the plan saw \"2\""),
              std::string::npos)
      << e.what();
  }
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "0\n");
  EXPECT_FALSE(std::filesystem::exists(m_base / "state/journal.json"));
}

TEST_F(ApplyEngineTest, SamePlanAgainAfterApplyIsAlreadyApplied)
{
  {
    Applier a(request());
    a.prepare();
    a.execute(m_obs);
  }
  const auto journal = get("state/journal.json");
  {
    Applier again(request()); // the plan still says current 2, the host now holds the targets
    again.prepare();
    EXPECT_TRUE(again.already_applied());
    EXPECT_THROW(again.execute(m_obs), Error); // nothing to execute
  }
  EXPECT_EQ(get("state/journal.json"), journal);
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");

  // Only part of it at the target: that is drift, not "already applied".
  put("proc/net/ipv4/tcp_tw_reuse", "0\n");
  Applier partial(request());
  EXPECT_THROW(partial.prepare(), Error);
  EXPECT_FALSE(partial.already_applied());
}

TEST_F(ApplyEngineTest, InterruptedJournalErrorEchoesTheRollbackCommand)
{
  {
    Applier a(request());
    a.prepare();
    a.execute(m_obs);
  }
  {
    const Dir state = open_state_dir(m_base / "state");
    auto j = *load_journal(state);
    j.state = JournalState::runtime_applied;
    save_journal(state, j);
  }
  auto r = request();
  r.changes.clear(); // even with nothing to do
  r.rollback_hint = "tw-advisor rollback --root /x --state-dir /y";
  try {
    Applier a(r);
    FAIL() << "accepted an apply while the last one awaits rollback";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run `tw-advisor rollback --root /x --state-dir /y` first"),
              std::string::npos)
      << e.what();
  }
  const auto found = find_interrupted_apply(m_base / "root", m_base / "state");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->state, "runtime-applied");
  EXPECT_EQ(found->journal, (m_base / "state/journal.json").string());
  rollback_last_apply(target(), "rollback", m_obs);
  EXPECT_FALSE(find_interrupted_apply(m_base / "root", m_base / "state").has_value());
  EXPECT_FALSE(find_interrupted_apply(m_base / "root", m_base / "no-such-state").has_value());
}

TEST_F(ApplyEngineTest, RefusedPlanLeavesNoStateDirBehind)
{
  auto r = request();
  r.changes.push_back({ "net.ipv4.tcp_fin_timeout", "60", "30" }); // not allowed by the policy
  EXPECT_THROW(Applier a(r), Error);
  EXPECT_FALSE(std::filesystem::exists(m_base / "state"));
  auto empty = request();
  empty.changes.clear();
  {
    Applier a(empty); // nothing to do and no state dir: none is created
  }
  EXPECT_FALSE(std::filesystem::exists(m_base / "state"));
}

TEST_F(ApplyEngineTest, FailureAfterFirstKeyRestoresIt)
{
  auto r = request();
  r.check_current = false;
  // The second key turns into a directory after prepare(): the first key is written, the second fails.
  {
    Applier a(r);
    a.prepare();
    std::filesystem::remove(m_base / "proc/net/ipv4/ip_local_port_range");
    std::filesystem::create_directories(m_base / "proc/net/ipv4/ip_local_port_range");
    try {
      a.execute(m_obs);
      FAIL() << "apply succeeded with an unwritable key";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("rolled back"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
  EXPECT_FALSE(std::filesystem::exists(m_base / "root/etc/sysctl.d/90-tw-advisor.conf"));
  const auto status = read_status(target(), {});
  EXPECT_STREQ(to_string(status.condition), "rolled-back");
}

TEST_F(ApplyEngineTest, InterruptedJournalBlocksTheNextApplyUntilRollback)
{
  {
    Applier a(request());
    a.prepare();
    a.execute(m_obs);
  }
  // Simulate a crash mid-apply: journal left in persisting, temp file left behind.
  {
    const Dir state = open_state_dir(m_base / "state");
    auto j = *load_journal(state);
    j.state = JournalState::persisting;
    save_journal(state, j);
  }
  put("root/etc/sysctl.d/.90-tw-advisor.conf.tw-advisor-tmp", "half");
  EXPECT_STREQ(to_string(read_status(target(), {}).condition), "interrupted");
  EXPECT_THROW(Applier a(request()), Error);
  rollback_last_apply(target(), "rollback", m_obs);
  EXPECT_EQ(sysctld(),
            (std::map<std::string, std::string>{ { "10-base.conf", "net.ipv4.tcp_fin_timeout = 30\n" } }));
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
}

TEST_F(ApplyEngineTest, ForeignFileWithOurNameIsNeverOverwritten)
{
  put("root/etc/sysctl.d/90-tw-advisor.conf", "net.ipv4.tcp_tw_reuse = 0\n");
  Applier a(request());
  EXPECT_THROW(a.prepare(), Error);
  EXPECT_EQ(get("root/etc/sysctl.d/90-tw-advisor.conf"), "net.ipv4.tcp_tw_reuse = 0\n");
}

TEST_F(ApplyEngineTest, OverriddenAtBootRefusesAndNamesTheFile)
{
  auto r = request();
  r.override_check = [](const std::filesystem::path&, const std::string& name, const Settings& settings) {
    EXPECT_EQ(name, "90-tw-advisor.conf");
    EXPECT_EQ(settings.size(), 2u);
    return std::map<std::string, std::string>{ { "net.ipv4.tcp_tw_reuse",
                                                 "/etc/sysctl.d/99-sysctl.conf:3" } };
  };
  Applier a(r);
  try {
    a.prepare();
    FAIL() << "accepted a file that loses at boot";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("99-sysctl.conf:3"), std::string::npos) << e.what();
  }
}

TEST_F(ApplyEngineTest, NoPersistLeavesSysctldAlone)
{
  const auto before = sysctld();
  auto r = request();
  r.persist = false;
  Applier a(r);
  a.prepare();
  a.execute(m_obs);
  EXPECT_EQ(sysctld(), before);
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");
}

TEST_F(ApplyEngineTest, TrippedWatchRollsBack)
{
  auto r = request();
  std::uint64_t fails = 0;
  r.watch.duration = std::chrono::seconds(2);
  r.watch.baseline = std::chrono::seconds(0);
  r.watch.thresholds = { { "Tcp.AttemptFails", 5.0, "test" } };
  r.watch.read_counters = [&fails] {
    Counters c;
    c.available = true;
    c.values["Tcp.AttemptFails"] = fails;
    fails += 50; // 50 more per reading: far over 5/s
    return c;
  };
  const auto before = sysctld();
  Applier a(r);
  a.prepare();
  const auto outcome = a.execute(m_obs);
  EXPECT_EQ(outcome.result, ApplyResult::watch_rolled_back);
  EXPECT_NE(outcome.reason.find("Tcp.AttemptFails"), std::string::npos) << outcome.reason;
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
  EXPECT_EQ(sysctld(), before);
  EXPECT_FALSE(m_obs.samples.empty());
}

// The probe's watch: a recycled connect that fails rolls back at once; connect() failures that do
// not fall over the watch roll back at its end; failures that fall pass, with what was measured.
TEST_F(ApplyEngineTest, ProbeWatchRollsBackOnFailingRecycledConnects)
{
  auto r = request();
  r.watch.duration = std::chrono::seconds(2);
  r.watch.baseline = std::chrono::seconds(0);
  r.watch.thresholds = { { "Tcp.AttemptFails", 1000.0, "test" } };
  r.watch.read_counters = quiet_counters;
  SymptomCounts seen;
  r.watch.attach_symptoms = [&seen] {
    return SymptomReader{ [&seen] {
                           const SymptomCounts now = seen;
                           seen.recycled += 10;
                           seen.recycled_failed += 2;
                           return now;
                         },
                          {} };
  };
  const auto before = sysctld();
  Applier a(r);
  a.prepare();
  const auto outcome = a.execute(m_obs);
  EXPECT_EQ(outcome.result, ApplyResult::watch_rolled_back);
  EXPECT_NE(outcome.reason.find("2 of 10 connects that reused a TIME_WAIT tuple failed"), std::string::npos)
    << outcome.reason;
  EXPECT_EQ(m_obs.samples.size(), 1u); // tripped at the first sample
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
  EXPECT_EQ(sysctld(), before);
}

// An apply with a 1 s probe watch after a 1 s baseline with 100 connect() failures (bind()
// failures with `bind`); then `during_step` more per reading during the watch.
ApplyOutcome apply_with_failures(const ApplyRequest& base,
                                 std::uint64_t during_step,
                                 ApplyObserver& obs,
                                 bool bind = false,
                                 bool mixed = false)
{
  ApplyRequest r = base;
  r.persist = false;
  r.watch.duration = std::chrono::seconds(1);
  r.watch.baseline = std::chrono::seconds(1);
  r.watch.thresholds = { { "Tcp.AttemptFails", 1000.0, "test" } };
  r.watch.read_counters = quiet_counters;
  auto reading = std::make_shared<int>(0);
  auto seen = std::make_shared<SymptomCounts>();
  r.watch.attach_symptoms = [seen, reading, during_step, bind, mixed] {
    return SymptomReader{ [seen, reading, during_step, bind, mixed] {
                           const SymptomCounts now = *seen;
                           const bool baseline = (*reading)++ == 0;
                           (bind ? seen->eaddrinuse : seen->eaddrnotavail) += baseline ? 100 : during_step;
                           if (mixed) { // a bind() client beside: failing alike before and during
                             seen->eaddrinuse += 100;
                           }
                           return now;
                         },
                          {} };
  };
  Applier a(r);
  a.prepare();
  return a.execute(obs);
}

TEST_F(ApplyEngineTest, ProbeWatchPassesWhenConnectFailuresFall)
{
  const auto outcome = apply_with_failures(request(), 0, m_obs);
  EXPECT_EQ(outcome.result, ApplyResult::applied) << outcome.reason;
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");
  EXPECT_NE(outcome.measured.find("connect() EADDRNOTAVAIL"), std::string::npos) << outcome.measured;
  EXPECT_NE(outcome.measured.find("/s before, 0.0/s during the watch"), std::string::npos)
    << outcome.measured;
}

TEST_F(ApplyEngineTest, ProbeWatchRollsBackWhenConnectFailuresDoNotFall)
{
  const auto outcome = apply_with_failures(request(), 500, m_obs);
  EXPECT_EQ(outcome.result, ApplyResult::watch_rolled_back);
  EXPECT_NE(outcome.reason.find("connect() kept failing with EADDRNOTAVAIL"), std::string::npos)
    << outcome.reason;
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
}

// A client that bind()s before connect() is not helped by tcp_tw_reuse: its failures do not fall
// and the watch says why it rolls back.
TEST_F(ApplyEngineTest, ProbeWatchRollsBackWhenBindFailuresDoNotFall)
{
  const auto outcome = apply_with_failures(request(), 200, m_obs, /*bind=*/true);
  EXPECT_EQ(outcome.result, ApplyResult::watch_rolled_back);
  EXPECT_NE(outcome.reason.find("bind() to port 0 kept failing with EADDRINUSE"), std::string::npos)
    << outcome.reason;
  EXPECT_NE(outcome.measured.find("bind() EADDRINUSE"), std::string::npos) << outcome.measured;
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
}

// A connect() client relieved beside a bind() client that is not: the change did its job and stays.
TEST_F(ApplyEngineTest, ProbeWatchKeepsAChangeThatRelievedConnectBesideABindClient)
{
  const auto outcome = apply_with_failures(request(), 0, m_obs, /*bind=*/false, /*mixed=*/true);
  EXPECT_EQ(outcome.result, ApplyResult::applied) << outcome.reason;
  EXPECT_NE(outcome.measured.find("bind() EADDRINUSE"), std::string::npos) << outcome.measured;
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");
}

// A config-management loop must not report "ok" while the setting is gone at the next boot: with
// the generated file deleted, the same plan persists again (journaled), and rollback undoes that.
TEST_F(ApplyEngineTest, DeletedGeneratedFileIsPersistedAgainNotAlreadyApplied)
{
  const auto reuse_before = get("proc/net/ipv4/tcp_tw_reuse");
  {
    Applier a(request());
    a.prepare();
    a.execute(m_obs);
  }
  std::filesystem::remove(m_base / "root/etc/sysctl.d/90-tw-advisor.conf");
  const auto without_file = sysctld();
  {
    Applier again(request());
    again.prepare();
    EXPECT_FALSE(again.already_applied());
    EXPECT_TRUE(again.persist_only());
    ASSERT_TRUE(again.file().has_value());
    EXPECT_FALSE(again.file()->before.has_value());
    // Its snapshot is what it found; the values from before the first apply are said in a note,
    // since this journal replaces the one that holds them.
    for (const auto& c : again.changes()) {
      EXPECT_EQ(c.old_value, c.new_value) << c.key;
    }
    const auto said = std::find_if(again.notes().begin(), again.notes().end(), [](const std::string& n) {
      return n.find("changed net.ipv4.tcp_tw_reuse from 2 to 1; this one only persists it") !=
             std::string::npos;
    });
    EXPECT_NE(said, again.notes().end());
    again.execute(m_obs);
  }
  const auto written = get("root/etc/sysctl.d/90-tw-advisor.conf");
  EXPECT_NE(written.find("net.ipv4.tcp_tw_reuse = 1\n"), std::string::npos) << written;
  EXPECT_NE(written.find("net.ipv4.ip_local_port_range = 10240 65535\n"), std::string::npos) << written;
  EXPECT_STREQ(to_string(read_status(target(), {}).condition), "done");
  {
    Applier third(request()); // now both hold: converged
    third.prepare();
    EXPECT_TRUE(third.already_applied());
  }
  rollback_last_apply(target(), "rollback", m_obs);
  EXPECT_EQ(sysctld(), without_file); // the persist-only apply is undone: the file is gone again
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n"); // it was 1 before that apply
  EXPECT_NE(reuse_before, "1\n");
}

TEST_F(ApplyEngineTest, KeysSetByHandWithoutAFileArePersistedAndAnUnpersistedNoOpLeavesNothing)
{
  put("proc/net/ipv4/tcp_tw_reuse", "1\n");
  put("proc/net/ipv4/ip_local_port_range", "10240\t65535\n");
  auto runtime_only = request();
  runtime_only.persist = false;
  {
    Applier a(runtime_only);
    a.prepare();
    EXPECT_TRUE(a.already_applied());
  }
  // Nothing was journaled, so nothing may be left behind: no state dir, no lock file.
  EXPECT_FALSE(std::filesystem::exists(m_base / "state"));
  EXPECT_TRUE(std::filesystem::is_empty(m_base / "locks"));
  {
    Applier a(request());
    a.prepare();
    EXPECT_FALSE(a.already_applied());
    EXPECT_TRUE(a.persist_only());
    a.execute(m_obs);
  }
  EXPECT_NE(get("root/etc/sysctl.d/90-tw-advisor.conf").find("net.ipv4.tcp_tw_reuse = 1\n"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(m_base / "state/journal.json"));
  EXPECT_TRUE(std::filesystem::is_empty(m_base / "locks"));
}

// The lock covers the target (network namespace or /proc/sys tree, and the root), not the state
// dir: a second apply with another --state-dir is refused while the first runs.
TEST_F(ApplyEngineTest, AnotherStateDirOnTheSameTargetIsRefusedWhileAnApplyRuns)
{
  auto other = request();
  other.state_dir = m_base / "state-2";
  {
    Applier first(request());
    first.prepare();
    try {
      Applier second(other);
      FAIL() << "a second apply on the same target ran with another state dir";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("another tw-advisor apply or rollback holds"), std::string::npos)
        << e.what();
      EXPECT_NE(std::string(e.what()).find("command: test"), std::string::npos) << e.what();
    }
    // A different root and /proc/sys tree is another target: not refused.
    std::filesystem::create_directories(m_base / "root-2/etc/sysctl.d");
    std::filesystem::create_directories(m_base / "proc-2");
    auto elsewhere = other;
    elsewhere.root = m_base / "root-2";
    elsewhere.proc_sys = m_base / "proc-2";
    EXPECT_NO_THROW(Applier third(elsewhere));
    first.execute(m_obs);
  }
  EXPECT_TRUE(std::filesystem::is_empty(m_base / "locks"));
  Applier after(other); // released: the next one may run
  after.prepare();
  EXPECT_TRUE(after.already_applied());
}

TEST_F(ApplyEngineTest, RollbackRefusesAJournalThatPointsAtAnotherProcSys)
{
  {
    Applier a(request());
    a.prepare();
    a.execute(m_obs);
  }
  std::filesystem::create_directories(m_base / "elsewhere/net/ipv4");
  put("elsewhere/net/ipv4/tcp_tw_reuse", "1\n");
  put("elsewhere/net/ipv4/ip_local_port_range", "10240 65535\n");
  {
    const Dir state = open_state_dir(m_base / "state");
    auto j = *load_journal(state);
    j.proc_sys = (m_base / "elsewhere").string();
    save_journal(state, j);
  }
  try {
    rollback_last_apply(target(), "rollback", m_obs);
    FAIL() << "rollback trusted the journal's proc_sys";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rollback writes only below " + (m_base / "proc").string()),
              std::string::npos)
      << e.what();
  }
  EXPECT_EQ(get("elsewhere/net/ipv4/tcp_tw_reuse"), "1\n"); // nothing written there
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");      // nor here: refused whole
  const auto notes = read_status(target(), {}).notes;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("rollback refuses it") != std::string::npos;
  }));
}

TEST_F(ApplyEngineTest, StatusSaysInProgressWhileAnApplyWaitsBeforeItsJournal)
{
  {
    Applier fresh(request()); // no state dir yet: only the target locks say it runs
    fresh.prepare();
    const auto status = read_status(target(), {});
    EXPECT_STREQ(to_string(status.condition), "in-progress");
    ASSERT_FALSE(status.notes.empty());
    EXPECT_NE(status.notes.back().find("has not written its journal yet"), std::string::npos)
      << status.notes.back();
    fresh.execute(m_obs);
  }
  rollback_last_apply(target(), "rollback", m_obs);
  EXPECT_STREQ(to_string(read_status(target(), {}).condition), "rolled-back");
  {
    Applier next(request()); // at its prompt: the journal on disk is the previous, final one
    next.prepare();
    const auto status = read_status(target(), {});
    EXPECT_STREQ(to_string(status.condition), "in-progress");
    EXPECT_NE(status.notes.front().find("what follows is the apply before it (rolled-back)"),
              std::string::npos)
      << status.notes.front();
  }
  EXPECT_STREQ(to_string(read_status(target(), {}).condition), "rolled-back");
}

TEST_F(ApplyEngineTest, DamagedJournalIsAConditionWithStepsToRestoreByHand)
{
  {
    Applier a(request());
    a.prepare();
    a.execute(m_obs);
  }
  const auto whole = get("state/journal.json");
  // Cut short (a full disk, a crash of the file system): the changes come early in the document.
  const auto files_at = whole.find("\"files\"");
  ASSERT_NE(files_at, std::string::npos);
  put("state/journal.json", whole.substr(0, files_at + 40));
  auto status = read_status(target(), {});
  EXPECT_STREQ(to_string(status.condition), "damaged");
  EXPECT_NE(status.journal_error.find("not valid JSON"), std::string::npos) << status.journal_error;
  ASSERT_EQ(status.keys.size(), 2u);
  EXPECT_EQ(status.keys[0].old_value, "2");
  EXPECT_EQ(status.keys[1].old_value, "32768 60999");
  std::string steps;
  for (const auto& line : status.recovery) {
    steps += line + "\n";
  }
  EXPECT_NE(steps.find("sysctl -w net.ipv4.tcp_tw_reuse=2"), std::string::npos) << steps;
  EXPECT_NE(steps.find("sysctl -w net.ipv4.ip_local_port_range='32768 60999'"), std::string::npos) << steps;
  EXPECT_NE(steps.find("cut short"), std::string::npos) << steps;
  EXPECT_NE(steps.find("journal.json.damaged"), std::string::npos) << steps;
  try {
    rollback_last_apply(target(), "rollback", m_obs);
    FAIL() << "rollback used a damaged journal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("`tw-advisor status` shows"), std::string::npos) << e.what();
  }
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "1\n");

  // A file snapshot whose checksum fails: valid JSON, but that file's previous content is unknown.
  auto doc = nlohmann::json::parse(whole);
  doc["files"][0]["after"]["sha256"] = "00";
  put("state/journal.json", doc.dump(2));
  status = read_status(target(), {});
  EXPECT_STREQ(to_string(status.condition), "damaged");
  steps.clear();
  for (const auto& line : status.recovery) {
    steps += line + "\n";
  }
  EXPECT_NE(steps.find("rm "), std::string::npos) << steps; // before: the file did not exist
  EXPECT_EQ(steps.find("cut short"), std::string::npos) << steps;
}

TEST_F(ApplyEngineTest, AWatchedCounterThisKernelLacksIsRefusedBeforeAnyChange)
{
  auto r = request();
  r.watch.duration = std::chrono::seconds(1);
  r.watch.baseline = std::chrono::seconds(0);
  r.watch.thresholds = { { "TcpExt.NoSuchCounter", 1.0, "typo" } };
  r.watch.read_counters = quiet_counters;
  Applier a(r);
  a.prepare();
  try {
    a.execute(m_obs);
    FAIL() << "watched a counter that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("TcpExt.NoSuchCounter is not reported by this kernel"),
              std::string::npos)
      << e.what();
  }
  EXPECT_EQ(get("proc/net/ipv4/tcp_tw_reuse"), "2\n");
  EXPECT_FALSE(std::filesystem::exists(m_base / "state/journal.json"));
}

} // namespace
} // namespace tw
