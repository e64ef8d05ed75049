// `tw-advisor plan` as an operator runs it, on recorded facts (tests/data/plan/facts, made by
// tests/data/plan/record-facts.sh from real namespaces) so the text report is compared to golden
// files: verdicts, exit codes, --out, --root, strict profile errors.
// TW_UPDATE_GOLDEN=1 rewrites the golden files.
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "support/process.hpp"
#include "support/text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

fs::path data()
{
  return fs::path(required_env("TW_TEST_DATA")) / "plan";
}

std::string slurp(const fs::path& p)
{
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PlanCliTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_bin = required_env("TW_ADVISOR_BIN");
    m_root = fs::temp_directory_path() / ("tw-plan-cli-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_root);
  }
  void TearDown() override { fs::remove_all(m_root); }

  // plan on a recorded fixture, with an empty --root so no host file is read.
  RunResult plan(const std::string& fixture,
                 std::vector<std::string> extra = {},
                 std::vector<std::string> env = {})
  {
    std::vector<std::string> argv = { m_bin,     "plan",
                                      "--facts", (data() / "facts" / (fixture + ".json")).string(),
                                      "--root",  m_root.string() };
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, env);
  }

  void expect_golden(const std::string& name, const std::string& actual)
  {
    const fs::path path = data() / "golden" / name;
    if (std::getenv("TW_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(path) << actual;
    }
    ASSERT_TRUE(fs::exists(path)) << "missing golden " << path << " (TW_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(actual, slurp(path)) << "differs from " << path << " (TW_UPDATE_GOLDEN=1 rewrites it)";
  }

  std::string m_bin;
  fs::path m_root;
};

struct GoldenCase
{
  const char* fixture;
  const char* profile;
  const char* verdict_line;
};

TEST_F(PlanCliTest, TextReportsMatchTheGoldenFiles)
{
  const GoldenCase cases[] = {
    { "stuck-client", "api-client", "HELPS:" },    { "timestamps-off", "api-client", "HELPS:" },
    { "snat", "container-node", "HELPS:" },        { "web-server", "web-server", "IRRELEVANT:" },
    { "loopback", "default", "ALREADY ENABLED:" },
  };
  for (const auto& c : cases) {
    const RunResult r = plan(c.fixture, { "--profile", c.profile });
    ASSERT_EQ(r.exit_code, 0) << c.fixture << ": " << r.err;
    EXPECT_EQ(r.out.rfind(c.verdict_line, 0), 0u) << c.fixture << ": the verdict comes first\n" << r.out;
    EXPECT_EQ(r.out.find('\033'), std::string::npos) << "no colour when stdout is not a terminal";
    expect_golden(std::string("cli-") + c.fixture + ".txt", r.out);
  }
}

TEST_F(PlanCliTest, DetailedExitcodeIsTwoOnlyWhenChangesAreProposed)
{
  EXPECT_EQ(plan("stuck-client", { "--detailed-exitcode" }).exit_code, 2);
  EXPECT_EQ(plan("stuck-client").exit_code, 0);
  EXPECT_EQ(plan("web-server", { "--detailed-exitcode" }).exit_code, 0);
  EXPECT_EQ(plan("loopback", { "--detailed-exitcode" }).exit_code, 0);
}

TEST_F(PlanCliTest, JsonIsTheDocumentedSchema)
{
  const RunResult r = plan("timestamps-off", { "--format", "json" });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema_version"], 2);
  EXPECT_EQ(j["kind"], "plan");
  EXPECT_EQ(j["host"]["hostname"], j["facts"]["hostname"]); // what was judged: the recording's host
  EXPECT_EQ(j["verdict"], "helps");
  ASSERT_EQ(j["changes"].size(), 2u);
  EXPECT_EQ(j["changes"][0]["key"], "net.ipv4.tcp_timestamps");
  EXPECT_EQ(j["changes"][1]["key"], "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(j["sockets"]["time_wait"]["outbound"], 1000);
  EXPECT_EQ(j["facts"]["sysctls"]["net.ipv4.tcp_timestamps"]["value"], "0");
  EXPECT_NO_THROW(plan_from_json(j, "stdout"));
}

TEST_F(PlanCliTest, OutWritesTheReviewedPlanAtomically)
{
  const fs::path out = m_root / "plan.json";
  const RunResult r = plan("stuck-client", { "--out", out.string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("HELPS:", 0), 0u) << "stdout keeps the chosen format";
  const Plan p = plan_from_json_text(slurp(out), out.string());
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].key, "net.ipv4.tcp_tw_reuse");
  int files = 0;
  for (const auto& e : fs::directory_iterator(m_root)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "plan.json") << "left behind: " << e.path();
  }
  EXPECT_EQ(files, 1);
}

TEST_F(PlanCliTest, OutIntoAMissingDirectoryNamesThePath)
{
  const fs::path out = m_root / "no" / "such" / "plan.json";
  const RunResult r = plan("stuck-client", { "--out", out.string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(out.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}

// With --format json, stdout holds one document on error too: plan, census and status print an
// error document with the exit code; without it stdout stays empty. The stderr line is unchanged.
TEST_F(PlanCliTest, AnErrorWithFormatJsonIsOneJsonDocument)
{
  const fs::path bad = data() / "config" / "malformed-profile.yaml";
  const RunResult r = plan("stuck-client", { "--profile", bad.string(), "--format", "json" });
  EXPECT_EQ(r.exit_code, 1);
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc.at("kind"), "error");
  EXPECT_EQ(doc.at("command"), "plan");
  EXPECT_EQ(doc.at("outcome"), "error");
  EXPECT_EQ(doc.at("exit_code"), 1);
  EXPECT_EQ(doc.at("error").at("subject").get<std::string>().find(bad.string()), 0u) << doc.dump();
  EXPECT_NE(r.err.find(doc.at("error").at("message").get<std::string>()), std::string::npos) << r.err;
  EXPECT_TRUE(plan("stuck-client", { "--profile", bad.string() }).out.empty());

  const RunResult census =
    run({ m_bin, "census", "--from-dump", (m_root / "missing.twdump").string(), "--format", "json" });
  EXPECT_EQ(census.exit_code, 1);
  const auto cdoc = nlohmann::json::parse(census.out);
  EXPECT_EQ(cdoc.at("command"), "census");
  EXPECT_NE(cdoc.at("error").at("message").get<std::string>().find("missing.twdump"), std::string::npos);
}

TEST_F(PlanCliTest, MalformedProfileExitsOneNamingFileLineColumn)
{
  const fs::path bad = data() / "config" / "malformed-profile.yaml";
  const RunResult r = plan("stuck-client", { "--profile", bad.string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tw-advisor: error: " + bad.string() + ":5:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown field 'presure'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "no report after an error";
}

TEST_F(PlanCliTest, IncludeCycleExitsOne)
{
  const RunResult r = plan("stuck-client", { "--profile", (data() / "config" / "cycle-a.yaml").string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("include cycle"), std::string::npos) << r.err;
}

TEST_F(PlanCliTest, MalformedPolicyExitsOne)
{
  const fs::path bad = m_root / "p.yaml";
  std::ofstream(bad)
    << "id: p\ndescription: d\nrationale: r\nthresholds:\n  time_wait_pressure:\n    value: 2\n"
       "    description: d\n    rationale: r\n";
  const RunResult r = plan("stuck-client", { "--policy", bad.string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string() + ":6:12"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
}

TEST_F(PlanCliTest, MalformedFactsExitOneNamingThePath)
{
  const fs::path bad = m_root / "facts.json";
  std::ofstream(bad) << "{\"sockets\": {}, \"facts\": {}}";
  const RunResult r = run({ m_bin, "plan", "--facts", bad.string(), "--root", m_root.string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string() + ": /sockets"), std::string::npos) << r.err;
}

TEST_F(PlanCliTest, RootIsWhereSysctlDIsReadForBootDrift)
{
  // Live facts: this host's runtime tcp_tw_reuse against the sysctl.d under --root, which sets 1.
  std::ifstream proc("/proc/sys/net/ipv4/tcp_tw_reuse");
  std::string now;
  proc >> now;
  ASSERT_FALSE(now.empty()) << "cannot read /proc/sys/net/ipv4/tcp_tw_reuse";
  const RunResult live = run({ m_bin, "plan", "--root", (data() / "root-drift").string() });
  ASSERT_EQ(live.exit_code, 0) << live.err;
  const std::string drift =
    "boot-drift: net.ipv4.tcp_tw_reuse is " + now + " now but /etc/sysctl.d/60-net.conf:2 sets 1";
  if (now != "1") {
    EXPECT_NE(unwrapped(live.out).find(drift), std::string::npos) << live.out;
  } else {
    EXPECT_EQ(live.out.find("boot-drift: net.ipv4.tcp_tw_reuse"), std::string::npos) << live.out;
  }

  // Recorded facts describe another moment or host: no drift against this host's sysctl.d.
  const RunResult r = run({ m_bin,
                            "plan",
                            "--facts",
                            (data() / "facts" / "stuck-client.json").string(),
                            "--root",
                            (data() / "root-drift").string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("boot-drift"), std::string::npos) << r.out;
  const RunResult missing = run({ m_bin,
                                  "plan",
                                  "--facts",
                                  (data() / "facts" / "stuck-client.json").string(),
                                  "--root",
                                  (m_root / "nope").string() });
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--root"), std::string::npos) << missing.err;
}

TEST_F(PlanCliTest, OutIntoADirectoryIsRefusedBeforeAnyWork)
{
  const RunResult r = plan("stuck-client", { "--out", m_root.string() });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tw-advisor: error: --out " + m_root.string() +
                       ": is a directory; give the file to "
                       "write, e.g. --out " +
                       (m_root / "plan.json").string()),
            std::string::npos)
    << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(PlanCliTest, SavedPlanIsNamedInTheTextReport)
{
  const fs::path out = m_root / "saved.json";
  const RunResult r = plan("stuck-client", { "--out", out.string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(unwrapped(r.out).find("Saved to " + out.string() +
                                  ". Next: review it, then `tw-advisor apply --plan " + out.string() + "`"),
            std::string::npos)
    << r.out;
  EXPECT_TRUE(fs::exists(out));
}

// Following the Next: line saves the plan shown: the plan command repeats --profile and --policy
// (a path made absolute, as it is pasted from anywhere), and the apply the policy whose guardrails
// and watch thresholds the plan was judged by. A --facts replay's --sample (and --root) were
// another machine's.
TEST_F(PlanCliTest, TheNextCommandsRepeatTheProfileAndPolicyJudgedWith)
{
  const fs::path policy = m_root / "my policy.yaml";
  fs::copy_file(fs::path(required_env("TW_SOURCE_DIR")) / "policies" / "default.yaml", policy);
  const RunResult r = plan("stuck-client", { "--profile", "api-client", "--policy", policy.string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string quoted = "'" + policy.string() + "'";
  const std::string next = unwrapped(r.out);
  EXPECT_NE(next.find("`tw-advisor plan --profile api-client --policy " + quoted + " --out plan.json`"),
            std::string::npos)
    << r.out;
  EXPECT_NE(next.find("`tw-advisor apply --policy " + quoted + " --plan plan.json`"), std::string::npos)
    << r.out;
  const RunResult sampled = plan("stuck-client", { "--sample", "2" });
  ASSERT_EQ(sampled.exit_code, 0) << sampled.err;
  EXPECT_NE(sampled.out.find("Next: save the plan"), std::string::npos) << sampled.out;
  EXPECT_EQ(unwrapped(sampled.out).find("--sample"), std::string::npos) << sampled.out;
}

TEST_F(PlanCliTest, UsageErrorsSayWhatWasMeant)
{
  // A typo gets a suggestion, the words in the order typed.
  const RunResult typo = plan("stuck-client", { "--fromat", "json" });
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("unexpected arguments: --fromat json (did you mean --format?)"), std::string::npos)
    << typo.err;
  EXPECT_NE(typo.err.find("Run 'tw-advisor plan --help' for usage."), std::string::npos) << typo.err;
  // An empty value (an unset variable) is refused, never taken as "use the default".
  const RunResult empty = plan("stuck-client", { "--out", "" });
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("--out: empty value"), std::string::npos) << empty.err;
  EXPECT_TRUE(empty.out.empty()) << empty.out;
  // A missing profile file names the option it came from.
  const std::string missing = (m_root / "nope.yaml").string();
  const RunResult profile = plan("stuck-client", { "--profile", missing });
  EXPECT_EQ(profile.exit_code, 1);
  EXPECT_NE(profile.err.find("--profile " + missing + ": No such file or directory"), std::string::npos)
    << profile.err;
  const RunResult top = run({ m_bin, "census", "--top", "0" });
  EXPECT_EQ(top.exit_code, 1);
  EXPECT_NE(top.err.find("--top: 0 is not in the range 1 to 100000"), std::string::npos) << top.err;
}

TEST_F(PlanCliTest, RangeErrorsPrintTheBoundsAsWritten)
{
  const RunResult r = plan("stuck-client", { "--sample", "5000" });
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("5000 is not in the range 0 to 3600"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("0.000000"), std::string::npos) << r.err;
  const RunResult word = plan("stuck-client", { "--sample", "soon" });
  EXPECT_EQ(word.exit_code, 1);
  EXPECT_NE(word.err.find("'soon' is not a number"), std::string::npos) << word.err;
}

TEST_F(PlanCliTest, UnreadableSysctlDIsAFindingNotASilence)
{
  // Live facts (read only) against a --root whose /run/sysctl.d nobody may list (mode 0: not even
  // its owner, unless root, who reads everything, so the run drops to nobody when the test is root).
  fs::create_directories(m_root / "run/sysctl.d");
  std::ofstream(m_root / "run/sysctl.d/99-z.conf") << "net.ipv4.tcp_tw_reuse = 1\n";
  fs::permissions(m_root, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(m_root / "run", fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(m_root / "run/sysctl.d", fs::perms::none, fs::perm_options::replace);
  std::vector<std::string> argv = { m_bin, "plan", "--root", m_root.string() };
  if (::geteuid() == 0) {
    argv.insert(argv.begin(), { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups" });
  }
  const RunResult r = run(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sysctld-unreadable: cannot read /run/sysctl.d (Permission denied)"),
            std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("run as root to see it all"), std::string::npos) << r.out;

  // Readable again: no finding.
  fs::permissions(m_root / "run/sysctl.d",
                  fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::add);
  fs::permissions(m_root / "run/sysctl.d/99-z.conf", fs::perms::others_read, fs::perm_options::add);
  const RunResult ok = run(argv);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out.find("sysctld-unreadable"), std::string::npos) << ok.out;
}

TEST_F(PlanCliTest, ADeviceAsProfileIsRefusedNotRead)
{
  const RunResult r = plan("stuck-client", { "--profile", "/dev/zero" });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/dev/zero: not a regular file"), std::string::npos) << r.err;
}

TEST_F(PlanCliTest, DataDirComesFromTheEnvironmentFirst)
{
  fs::create_directories(m_root / "data" / "profiles");
  fs::create_directories(m_root / "data" / "policies");
  std::ofstream(m_root / "data" / "profiles" / "default.yaml")
    << "id: site-default\ndescription: d\nrationale: r\n";
  std::ofstream(m_root / "data" / "policies" / "default.yaml") << "id: site\ndescription: d\nrationale: r\n";
  const RunResult r =
    plan("web-server", { "--format", "json" }, { "TW_ADVISOR_DATA_DIR=" + (m_root / "data").string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["profile"], "site-default");
  EXPECT_EQ(j["policy"], "site");
  // Without the variable, the build dir's source tree supplies the shipped ones.
  const auto shipped = nlohmann::json::parse(plan("web-server", { "--format", "json" }).out);
  EXPECT_EQ(shipped["profile"], "default");
  EXPECT_EQ(shipped["policy"], "default");
}

TEST_F(PlanCliTest, HelpTeachesVerdictsAndExitCodes)
{
  const RunResult r = run({ m_bin, "plan", "--help" });
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : { "helps",
                            "irrelevant",
                            "already-enabled",
                            "blocked",
                            "insufficient-evidence",
                            "--detailed-exitcode",
                            "--out",
                            "--root",
                            "--sample",
                            "--profile",
                            "--policy",
                            "470",
                            "Exit codes" }) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(r.out.find("--facts"), std::string::npos) << "--facts is hidden";
}

} // namespace
} // namespace tw::test
