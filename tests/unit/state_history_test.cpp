// The monitor's history: the file (append, torn tail, compaction, the window read back), the
// record one interval makes, and plan --since judging a burst that has ended.
#include "config/loader.hpp"
#include "monitor/monitor.hpp"
#include "policy/engine.hpp"
#include "policy/history.hpp"
#include "policy_facts.hpp"
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "state/history.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t k_inode = 4026531840;

class StateHistoryTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_dir = fs::temp_directory_path() / ("twa-history-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  fs::path file() const { return m_dir / k_history_file; }
  std::string text() const
  {
    const auto r = read_file(file(), 1 << 24);
    return r ? *r : std::string();
  }

  fs::path m_dir;
};

DestGroup group(const std::string& remote,
                std::uint64_t in_use,
                std::uint64_t time_wait,
                std::uint64_t usable = 1000)
{
  DestGroup g;
  g.family = AF_INET;
  g.local = "10.0.0.1";
  g.remote = remote;
  g.remote_port = 8080;
  g.in_use = in_use;
  g.time_wait = time_wait;
  g.usable = usable;
  g.pressure = static_cast<double>(in_use) / static_cast<double>(usable);
  return g;
}

HistoryRecord record(double at, std::vector<DestGroup> groups, std::uint64_t inode = k_inode)
{
  HistoryRecord r;
  r.at_unix = at;
  r.netns_inode = inode;
  r.groups = std::move(groups);
  return r;
}

Plan plan_of(const Facts& f)
{
  return make_plan(f, Profile{}, config::builtin_policy());
}

double now_unix()
{
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(StateHistoryLine, ARecordSurvivesItsLineAndJunkIsNoRecord)
{
  HistoryRecord r = record(1764000000.25, { group("10.0.0.2", 900, 850), group("10.0.0.3", 3, 1) });
  r.failures.push_back({ "10.0.0.2:8080", 17, 2 });
  const std::string line = history_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  const auto back = parse_history_line(line);
  ASSERT_TRUE(back) << line;
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(parse_history_line(line.substr(0, line.size() / 2))); // torn
  EXPECT_FALSE(parse_history_line("{\"v\":2,\"at\":1,\"netns_inode\":1,\"groups\":[],\"failures\":[]}"));
  EXPECT_FALSE(parse_history_line("[]"));
  EXPECT_FALSE(parse_history_line(""));
}

TEST_F(StateHistoryTest, TheWindowHoldsEachGroupsPeakAndTheFailuresSummed)
{
  const double now = now_unix();
  {
    HistoryWriter w(m_dir, std::chrono::seconds(3600));
    w.append(record(now - 900, { group("10.0.0.2", 999, 990) })); // before the window
    w.append(record(now - 300, { group("10.0.0.2", 400, 300) }));
    HistoryRecord peak = record(now - 200, { group("10.0.0.2", 960, 950), group("10.0.0.3", 10, 5) });
    peak.failures.push_back({ "10.0.0.2:8080", 40, 0 });
    w.append(peak);
    HistoryRecord after = record(now - 100, { group("10.0.0.2", 100, 90) });
    after.failures.push_back({ "10.0.0.2:8080", 2, 1 });
    w.append(after);
    w.append(record(now - 50, { group("10.0.0.9", 999, 999) }, k_inode + 1)); // another namespace
  }
  const HistoryWindow h = read_history(file(), 600, now, k_inode);
  ASSERT_TRUE(h.available) << h.error;
  EXPECT_EQ(h.records, 3u);
  EXPECT_EQ(h.skipped, 0u);
  ASSERT_EQ(h.peaks.size(), 2u);
  EXPECT_EQ(h.peaks[0].group.remote, "10.0.0.2");
  EXPECT_EQ(h.peaks[0].group.time_wait, 950u);
  EXPECT_DOUBLE_EQ(h.peaks[0].at_unix, now - 200);
  EXPECT_EQ(h.peaks[1].group.remote, "10.0.0.3");
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].eaddrnotavail, 42u);
  EXPECT_EQ(h.failures[0].recycled_failed, 1u);
  ASSERT_TRUE(h.first_at_unix && h.last_at_unix);
  EXPECT_DOUBLE_EQ(*h.first_at_unix, now - 300);
  EXPECT_DOUBLE_EQ(*h.last_at_unix, now - 100);
}

// A kill mid-append leaves a torn last line: readers skip it, and the next writer starts its
// record on a line of its own.
TEST_F(StateHistoryTest, ATornTailIsSkippedAndClosedOffByTheNextAppend)
{
  const double now = now_unix();
  {
    HistoryWriter w(m_dir, std::chrono::seconds(3600));
    w.append(record(now - 30, { group("10.0.0.2", 500, 450) }));
  }
  const std::string whole = history_line(record(now - 20, { group("10.0.0.2", 990, 980) }));
  {
    std::ofstream out(file(), std::ios::app);
    out << whole.substr(0, whole.size() / 2); // torn: no newline, half a record
  }
  HistoryWindow h = read_history(file(), 600, now, k_inode);
  EXPECT_EQ(h.records, 1u);
  EXPECT_EQ(h.skipped, 1u);
  ASSERT_EQ(h.peaks.size(), 1u);
  EXPECT_EQ(h.peaks[0].group.time_wait, 450u); // not the torn record's 980

  HistoryWriter again(m_dir, std::chrono::seconds(3600));
  again.append(record(now - 10, { group("10.0.0.2", 600, 590) }));
  h = read_history(file(), 600, now, k_inode);
  EXPECT_EQ(h.records, 2u) << text();
  EXPECT_EQ(h.skipped, 1u) << text();
  EXPECT_EQ(h.peaks[0].group.time_wait, 590u);
}

// The file keeps about `keep`: once the oldest record is older than keep and a quarter, the
// writer rewrites it with the records still inside keep.
TEST_F(StateHistoryTest, TheFileIsCompactedToTheKeptWindow)
{
  const double now = now_unix();
  HistoryWriter w(m_dir, std::chrono::seconds(100));
  for (int i = 200; i >= 0; i -= 10) {
    w.append(record(now - i, { group("10.0.0.2", 10, 5) }));
  }
  const HistoryWindow h = read_history(file(), 1000, now, k_inode);
  ASSERT_TRUE(h.first_at_unix);
  EXPECT_GE(*h.first_at_unix, now - 125 - 1) << text();
  EXPECT_LE(h.records, 13u) << text();
  EXPECT_GE(h.records, 10u) << text();
}

TEST_F(StateHistoryTest, NoFileIsAnUnavailableWindowThatSaysWhere)
{
  const HistoryWindow h = read_history(file(), 600, now_unix(), k_inode);
  EXPECT_FALSE(h.available);
  EXPECT_NE(h.error.find(file().string()), std::string::npos) << h.error;
  EXPECT_NE(h.error.find("monitor"), std::string::npos) << h.error;
}

// One interval's record: the fullest groups first, at most k_history_groups, and the probe's
// failures since the previous record only.
TEST(MonitorHistoryRecord, KeepsTheFullestGroupsAndTheProbesNewFailures)
{
  Facts f = base_facts();
  for (int i = 0; i < 14; ++i) {
    add_group(f,
              "10.0.0.1",
              "10.0.1." + std::to_string(i),
              8080,
              100 + static_cast<std::uint64_t>(i) * 10,
              static_cast<std::uint64_t>(i) * 10);
  }
  SymptomEvidence probed; // one drained interval of the probe
  probed.source = EvidenceSource::probe;
  SymptomDestination d;
  d.destination = "10.0.1.13:8080";
  d.connect_eaddrnotavail = 5;
  probed.destinations.push_back(d);
  ProbeAccumulator acc;
  accumulate_probe(acc, probed, 1);
  const HistoryRecord first = history_record(f, acc, 100.0);
  ASSERT_EQ(first.groups.size(), k_history_groups);
  EXPECT_EQ(first.groups.front().remote, "10.0.1.13");
  EXPECT_EQ(first.groups.back().remote, "10.0.1.4");
  EXPECT_EQ(first.netns_inode, f.host.netns_inode);
  ASSERT_EQ(first.failures.size(), 1u);
  EXPECT_EQ(first.failures[0].eaddrnotavail, 5u);

  // The line was written (the monitor clears what it recorded); a line that could not be written
  // leaves its failures for the next one.
  acc.unrecorded.clear();
  probed.destinations[0].connect_eaddrnotavail = 7;
  accumulate_probe(acc, probed, 2);
  probed.destinations[0].connect_eaddrnotavail = 1;
  accumulate_probe(acc, probed, 3);
  const HistoryRecord second = history_record(f, acc, 115.0);
  ASSERT_EQ(second.failures.size(), 1u);
  EXPECT_EQ(second.failures[0].eaddrnotavail, 8u); // the two intervals since the last line
  EXPECT_EQ(acc.destinations.at("10.0.1.13:8080").connect_eaddrnotavail, 13u);
  acc.unrecorded.clear();
  SymptomEvidence quiet;
  quiet.source = EvidenceSource::probe;
  accumulate_probe(acc, quiet, 4);
  EXPECT_TRUE(history_record(f, acc, 130.0).failures.empty()); // nothing new
}

// The drained intervals add up into the exposition's counters, which stay bounded: beyond the
// cap the destination idle longest is forgotten, never the one that just came.
TEST(MonitorProbeTotals, DrainedIntervalsAddUpAndTheIdleAreForgotten)
{
  const auto interval = [](std::vector<std::pair<std::string, std::uint64_t>> failing,
                           std::uint64_t dropped) {
    SymptomEvidence e;
    e.source = EvidenceSource::probe;
    e.dropped = dropped;
    for (const auto& [name, n] : failing) {
      SymptomDestination d;
      d.destination = name;
      d.connect_eaddrnotavail = n;
      d.recycled = 1;
      e.destinations.push_back(d);
    }
    e.bind_eaddrinuse.push_back({ "10.0.0.1", "ipv4", 4, {} });
    return e;
  };
  ProbeAccumulator acc;
  accumulate_probe(acc, interval({ { "10.0.0.2:80", 100 }, { "10.0.0.3:80", 50 } }, 2), 1, 2);
  accumulate_probe(acc, interval({ { "10.0.0.2:80", 1 } }, 3), 2, 2);
  EXPECT_TRUE(acc.probed);
  EXPECT_EQ(acc.dropped, 3u); // the probe's own total, not a sum
  EXPECT_EQ(acc.destinations.at("10.0.0.2:80").connect_eaddrnotavail, 101u);
  EXPECT_EQ(acc.destinations.at("10.0.0.2:80").recycled, 2u);
  EXPECT_EQ(acc.bind_eaddrinuse.at("10.0.0.1"), 8u);
  // A new destination with a single failure: 10.0.0.3 (50 failures, idle since interval 1) goes.
  accumulate_probe(acc, interval({ { "10.0.0.2:80", 1 }, { "10.0.0.4:80", 1 } }, 3), 3, 2);
  ASSERT_EQ(acc.destinations.size(), 2u);
  EXPECT_EQ(acc.destinations.count("10.0.0.3:80"), 0u);
  EXPECT_EQ(acc.destinations.at("10.0.0.4:80").connect_eaddrnotavail, 1u);
  EXPECT_EQ(acc.destination_counted.size(), 2u);
  // Counters only grow while a destination is kept: the exposition's _total stays monotonic.
  EXPECT_EQ(acc.destinations.at("10.0.0.2:80").connect_eaddrnotavail, 102u);
}

// The burst has ended: the live census shows little, the history its peak. The plan judges the
// peak (helps), says when it was, and keeps the live census in its facts.
TEST(PolicyHistory, ABurstThatEndedStillHelpsAndSaysWhen)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "10.0.0.1", "10.0.0.2", 8080, 30, 20);
  EXPECT_EQ(plan_of(f).verdict, Verdict::irrelevant);

  HistoryWindow h;
  h.path = "/var/lib/tw-advisor/monitor-history.jsonl";
  h.since_seconds = 600;
  h.read_at_unix = 1764000130.0;
  h.available = true;
  h.records = 40;
  h.peaks.push_back({ group("10.0.0.2", 1000, 990), 1764000000.0 }); // 2m10s before
  h.peaks.push_back({ group("10.0.0.7", 950, 940), 1763999990.0 });  // gone from the census since
  h.failures.push_back({ "10.0.0.2:8080", 37, 0 });
  f.history = h;
  const Plan p = plan_of(f);
  EXPECT_EQ(p.verdict, Verdict::helps) << all_reasons(p);
  EXPECT_NE(all_reasons(p).find("at its peak at 16:00:00 UTC"), std::string::npos) << all_reasons(p);
  const auto finding = [&p](const std::string& id) {
    std::vector<const Finding*> out;
    for (const auto& x : p.findings) {
      if (x.id == id) {
        out.push_back(&x);
      }
    }
    return out;
  };
  const auto peaks = finding("history-peak");
  ASSERT_EQ(peaks.size(), 2u);
  EXPECT_NE(peaks[0]->summary.find("2m10s before this plan"), std::string::npos) << peaks[0]->summary;
  EXPECT_NE(peaks[1]->summary.find("10.0.0.7"), std::string::npos) << peaks[1]->summary;
  const auto failures = finding("history-failures");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0]->summary.find("37 connect()"), std::string::npos) << failures[0]->summary;
  EXPECT_EQ(f.sockets.groups.size(), 1u); // the live census untouched
  // history-failures names the 3 destinations that failed most, no more.
  Facts many = f;
  for (int i = 0; i < 5; ++i) {
    many.history->failures.push_back(
      { "10.0.9." + std::to_string(i) + ":80", 5u - static_cast<std::uint64_t>(i), 0 });
  }
  const Plan told = plan_of(many);
  EXPECT_EQ(std::count_if(told.findings.begin(),
                          told.findings.end(),
                          [](const Finding& x) { return x.id == "history-failures"; }),
            3);

  // The plan document keeps the history, so the saved plan judges the same.
  const Facts back = facts_from_json(plan_document(p, f), "plan.json");
  ASSERT_TRUE(back.history);
  EXPECT_EQ(*back.history, h);
  EXPECT_EQ(plan_of(back), p);
}

// A peak lower than now changes nothing; --since with no history says so and judges live.
TEST(PolicyHistory, ALowerPeakChangesNothingAndNoHistoryIsSaid)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "10.0.0.1", "10.0.0.2", 8080, 900, 880);
  const Plan live = plan_of(f);
  HistoryWindow h;
  h.since_seconds = 600;
  h.read_at_unix = 1764000130.0;
  h.available = true;
  h.records = 3;
  h.peaks.push_back({ group("10.0.0.2", 300, 200), 1764000000.0 });
  f.history = h;
  const SocketCensus judged = policy::census_with_peaks(f.sockets, h);
  ASSERT_EQ(judged.groups.size(), 1u);
  EXPECT_EQ(judged.groups[0].time_wait, 880u);
  EXPECT_FALSE(judged.groups[0].peak_at_unix);
  Plan with = plan_of(f);
  EXPECT_EQ(with.verdict, live.verdict);
  EXPECT_EQ(with.reasons, live.reasons);

  HistoryWindow none;
  none.since_seconds = 600;
  none.error = "no history at /x/monitor-history.jsonl (tw-advisor monitor records it)";
  f.history = none;
  with = plan_of(f);
  EXPECT_EQ(with.verdict, live.verdict);
  bool said = false;
  for (const auto& x : with.findings) {
    if (x.id == "history-unavailable") {
      said = true;
      EXPECT_EQ(x.severity, Severity::warning);
      EXPECT_NE(x.summary.find("/x/monitor-history.jsonl"), std::string::npos) << x.summary;
      EXPECT_NE(x.summary.find("judged on the live census only"), std::string::npos) << x.summary;
    }
  }
  EXPECT_TRUE(said);
}

} // namespace
} // namespace tw::test
