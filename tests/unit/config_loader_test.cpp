// Strict loading of profiles and policies: errors name file:line:column; include inheritance; cycles.
#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

const fs::path k_source = TW_SOURCE_DATA_DIR;
const fs::path k_fixtures = fs::path(TW_TEST_DATA_DIR) / "plan" / "config";

class ConfigTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_dir = fs::temp_directory_path() / ("tw-config-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_dir / "profiles");
    fs::create_directories(m_dir / "policies");
  }
  void TearDown() override { fs::remove_all(m_dir); }

  fs::path write(const std::string& rel, const std::string& text)
  {
    const fs::path p = m_dir / rel;
    std::ofstream(p) << text;
    return p;
  }

  // The tw::Error text of loading a policy file, or "" when it loaded.
  static std::string policy_error(const fs::path& p)
  {
    try {
      config::load_policy_file(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  static std::string profile_error(const fs::path& p)
  {
    try {
      config::load_profile_file(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path m_dir;
};

const std::string k_head = "id: t\ndescription: d\nrationale: r\n";

TEST_F(ConfigTest, ShippedDefaultPolicyMatchesTheBuiltInOne)
{
  const Policy file = config::load_policy_file(k_source / "policies" / "default.yaml");
  const Policy& builtin = config::builtin_policy();
  EXPECT_EQ(file.id, "default");
  EXPECT_EQ(file.time_wait_pressure.value, builtin.time_wait_pressure.value);
  EXPECT_EQ(file.peer_refusal_share.value, builtin.peer_refusal_share.value);
  EXPECT_EQ(file.exhaustion.value, builtin.exhaustion.value);
  EXPECT_EQ(file.exhaustion_time_wait_share.value, builtin.exhaustion_time_wait_share.value);
  EXPECT_EQ(file.min_timestamp_share.value, builtin.min_timestamp_share.value);
  EXPECT_EQ(file.min_timestamp_sample.value, builtin.min_timestamp_sample.value);
  EXPECT_EQ(file.narrow_port_range.value, builtin.narrow_port_range.value);
  EXPECT_EQ(file.reserved_share.value, builtin.reserved_share.value);
  EXPECT_EQ(file.slow_tw_reuse_delay_ms.value, builtin.slow_tw_reuse_delay_ms.value);
  EXPECT_EQ(file.propose_prerequisite_fixes.value, builtin.propose_prerequisite_fixes.value);
  ASSERT_EQ(file.guardrails.size(), builtin.guardrails.size());
  for (std::size_t i = 0; i < file.guardrails.size(); ++i) {
    EXPECT_EQ(file.guardrails[i].id, builtin.guardrails[i].id);
    EXPECT_EQ(file.guardrails[i].key, builtin.guardrails[i].key);
    EXPECT_EQ(file.guardrails[i].min, builtin.guardrails[i].min);
    EXPECT_EQ(file.guardrails[i].max, builtin.guardrails[i].max);
  }
  ASSERT_EQ(file.watch_rules.size(), builtin.watch_rules.size());
  for (std::size_t i = 0; i < file.watch_rules.size(); ++i) {
    EXPECT_EQ(file.watch_rules[i].counter, builtin.watch_rules[i].counter);
    EXPECT_EQ(file.watch_rules[i].max_rise_per_second, builtin.watch_rules[i].max_rise_per_second);
  }
  EXPECT_EQ(file.watch_duration_seconds.value, builtin.watch_duration_seconds.value);
  EXPECT_EQ(file.watch_duration_seconds.value, 0);
  EXPECT_EQ(file.canary_percent.value, 10);
  EXPECT_EQ(file.canary_watch_seconds.value, 600);
  EXPECT_TRUE(file.allows("net.ipv4.tcp_tw_reuse", "1"));
  EXPECT_FALSE(file.allows("net.ipv4.tcp_timestamps", "0"));
  EXPECT_FALSE(file.allows("net.ipv4.tcp_tw_recycle", "0"));
  EXPECT_TRUE(file.allows("net.ipv4.ip_local_port_range", "32768 60999"));
  EXPECT_FALSE(file.allows("net.ipv4.ip_local_port_range", "80 60999"));
}

TEST_F(ConfigTest, EveryShippedProfileLoads)
{
  for (const char* name : { "default", "web-server", "api-client", "proxy", "container-node" }) {
    const Profile p = config::load_profile(name, k_source);
    EXPECT_EQ(p.id, name);
    EXPECT_FALSE(p.description.empty());
    EXPECT_FALSE(p.rationale.empty());
  }
}

TEST_F(ConfigTest, IncludeInheritsAndOverrides)
{
  const Profile proxy = config::load_profile("proxy", k_source);
  EXPECT_EQ(proxy.intent.value, HostIntent::proxy);  // its own
  ASSERT_TRUE(proxy.time_wait_pressure.has_value()); // from api-client
  EXPECT_DOUBLE_EQ(proxy.time_wait_pressure->value, 0.3);
  EXPECT_FALSE(proxy.container_netns.value); // from default
  const Profile node = config::load_profile("container-node", k_source);
  EXPECT_TRUE(node.container_netns.value);
  EXPECT_EQ(node.intent.value, HostIntent::mixed);
}

TEST_F(ConfigTest, IncludeCycleIsNamed)
{
  const std::string e = profile_error(k_fixtures / "cycle-a.yaml");
  EXPECT_NE(e.find("include cycle: cycle-a.yaml -> cycle-b.yaml -> cycle-a.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("cycle-b.yaml:5:5"), std::string::npos) << e; // the include entry that closes it
}

TEST_F(ConfigTest, SelfIncludeIsACycle)
{
  const auto p = write("profiles/self.yaml", k_head + "include: self\n");
  EXPECT_NE(profile_error(p).find("include cycle: self.yaml -> self.yaml"), std::string::npos)
    << profile_error(p);
}

TEST_F(ConfigTest, MissingIncludeNamesTheIncludeLine)
{
  const auto p = write("profiles/orphan.yaml", k_head + "include: nowhere\n");
  const std::string e = profile_error(p);
  EXPECT_NE(e.find("orphan.yaml:4:10"), std::string::npos) << e;
  EXPECT_NE(e.find("nowhere.yaml"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownProfileFieldNamesFileLineColumn)
{
  const std::string e = profile_error(k_fixtures / "malformed-profile.yaml");
  EXPECT_NE(e.find("malformed-profile.yaml:5:3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown field 'presure'"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownTopLevelPolicyField)
{
  const auto p = write("policies/x.yaml", k_head + "thresholds: {}\nguardrail: []\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:5:1: policy: unknown field 'guardrail'"), std::string::npos) << e;
}

TEST_F(ConfigTest, WrongTypeNamesTheValue)
{
  const auto p = write("policies/x.yaml",
                       k_head + "thresholds:\n"
                                "  time_wait_pressure:\n"
                                "    value: high\n"
                                "    description: d\n"
                                "    rationale: r\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:12"), std::string::npos) << e;
  EXPECT_NE(e.find("expected a number, got 'high'"), std::string::npos) << e;
}

TEST_F(ConfigTest, OutOfRangeNamesTheRange)
{
  const auto p = write("policies/x.yaml",
                       k_head + "canary:\n"
                                "  percent:\n"
                                "    value: 150\n"
                                "    description: d\n"
                                "    rationale: r\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:12"), std::string::npos) << e;
  EXPECT_NE(e.find("150 is out of range 0..100"), std::string::npos) << e;
}

TEST_F(ConfigTest, OldPressureNameIsRefusedNamingTheNewOne)
{
  const std::string setting = "    value: 0.4\n    description: d\n    rationale: r\n";
  const auto p = write("policies/x.yaml", k_head + "thresholds:\n  pressure:\n" + setting);
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:5"), std::string::npos) << e;
  EXPECT_NE(e.find("renamed 'time_wait_pressure'"), std::string::npos) << e;
  const auto q = write("profiles/x.yaml", k_head + "settings:\n  pressure:\n" + setting);
  std::string pe;
  try {
    config::load_profile_file(q);
  } catch (const Error& err) {
    pe = err.what();
  }
  EXPECT_NE(pe.find("x.yaml:6:5"), std::string::npos) << pe;
  EXPECT_NE(pe.find("renamed 'time_wait_pressure'"), std::string::npos) << pe;
}

TEST_F(ConfigTest, RemovedWatchIntervalIsRefusedSayingWhatChanged)
{
  const std::string setting = "    value: 5\n    description: d\n    rationale: r\n";
  const auto p = write("policies/x.yaml", k_head + "watch:\n  interval_seconds:\n" + setting);
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:5"), std::string::npos) << e;
  EXPECT_NE(e.find("'interval_seconds' was removed"), std::string::npos) << e;
  EXPECT_NE(e.find("duration_seconds now sets the watch"), std::string::npos) << e;
}

// A typo in a watch rule's counter would never be judged: a watch that should roll back passes.
TEST_F(ConfigTest, UnknownWatchCounterIsRefusedWithADidYouMean)
{
  const std::string rule =
    "    - id: attempt-fails\n      counter: Tcp.AttemptFail\n      max_rise_per_second: 5\n"
    "      description: d\n      rationale: r\n";
  const auto p = write("policies/x.yaml", k_head + "watch:\n  rules:\n" + rule);
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:7:16"), std::string::npos) << e;
  EXPECT_NE(e.find("'Tcp.AttemptFail' is not a kernel counter (did you mean Tcp.AttemptFails?)"),
            std::string::npos)
    << e;
  EXPECT_NE(e.find("TcpExt.* counter of /proc/net/netstat"), std::string::npos) << e;
  // Every counter the shipped policy watches is known.
  const auto good =
    write("policies/y.yaml",
          k_head + "watch:\n  rules:\n    - id: paws\n      counter: TcpExt.PAWSActive\n"
                   "      max_rise_per_second: 1\n      description: d\n      rationale: r\n");
  EXPECT_EQ(policy_error(good), "");
}

TEST_F(ConfigTest, EmptyWatchRulesAreRefusedWhenThePolicyAsksForAWatch)
{
  const std::string duration = "  duration_seconds:\n    value: 300\n    description: d\n    rationale: r\n";
  const auto p = write("policies/x.yaml", k_head + "watch:\n" + duration + "  rules: []\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:9:10"), std::string::npos) << e;
  EXPECT_NE(e.find("a watch without rules would judge nothing"), std::string::npos) << e;
  // No watch asked for by the policy: rules: [] loads (apply refuses it only when it would watch).
  const auto q = write("policies/y.yaml", k_head + "watch:\n  rules: []\n");
  EXPECT_EQ(policy_error(q), "");
  EXPECT_TRUE(config::load_policy_file(q).watch_rules.empty());
}

TEST_F(ConfigTest, ExhaustionTimeWaitShareZeroIsRefused)
{
  const auto p = write("policies/x.yaml",
                       k_head + "thresholds:\n  exhaustion_time_wait_share:\n    value: 0.0\n"
                                "    description: d\n    rationale: r\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:12"), std::string::npos) << e;
  EXPECT_NE(e.find("must be above 0"), std::string::npos) << e;
  const auto ok = write("policies/y.yaml",
                        k_head + "thresholds:\n  exhaustion_time_wait_share:\n    value: 1\n"
                                 "    description: d\n    rationale: r\n");
  EXPECT_DOUBLE_EQ(config::load_policy_file(ok).exhaustion_time_wait_share.value, 1.0);
}

TEST_F(ConfigTest, PeerRefusalShareMustBeBelowTheMinimumShare)
{
  const auto p = write("policies/x.yaml",
                       k_head + "thresholds:\n  peer_refusal_share:\n    value: 0.95\n"
                                "    description: d\n    rationale: r\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:12"), std::string::npos) << e;
  EXPECT_NE(e.find("must be below min_timestamp_share"), std::string::npos) << e;
}

TEST_F(ConfigTest, PolicyFromADeviceOrADirectoryIsRefused)
{
  const std::string dev = policy_error("/dev/zero");
  EXPECT_NE(dev.find("/dev/zero: not a regular file"), std::string::npos) << dev;
  const std::string dir = policy_error(m_dir);
  EXPECT_NE(dir.find("is a directory"), std::string::npos) << dir;
}

TEST_F(ConfigTest, BooleansAreTrueOrFalseOnly)
{
  const auto p = write("policies/x.yaml",
                       k_head + "fixes:\n"
                                "  propose_prerequisite_fixes:\n"
                                "    value: yes\n"
                                "    description: d\n"
                                "    rationale: r\n");
  EXPECT_NE(policy_error(p).find("expected true or false, got 'yes'"), std::string::npos) << policy_error(p);
}

TEST_F(ConfigTest, SettingsNeedDescriptionAndRationale)
{
  const auto p = write("policies/x.yaml", k_head + "thresholds:\n  time_wait_pressure:\n    value: 0.4\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:6:5"), std::string::npos) << e;
  EXPECT_NE(e.find("missing required field 'description'"), std::string::npos) << e;
}

TEST_F(ConfigTest, DuplicateFieldIsAnError)
{
  const auto p = write("policies/x.yaml", k_head + "id: again\n");
  EXPECT_NE(policy_error(p).find("x.yaml:4:1: policy: duplicate field 'id'"), std::string::npos)
    << policy_error(p);
}

TEST_F(ConfigTest, GuardrailsRefuseRecycleAndTimestampsOff)
{
  const std::string rule = "    min: 0\n    max: 1\n    description: d\n    rationale: r\n";
  auto p =
    write("policies/x.yaml", k_head + "guardrails:\n  - id: r\n    key: net.ipv4.tcp_tw_recycle\n" + rule);
  EXPECT_NE(policy_error(p).find("x.yaml:6:10"), std::string::npos) << policy_error(p);
  EXPECT_NE(policy_error(p).find("removed in Linux 4.12"), std::string::npos) << policy_error(p);
  p = write("policies/y.yaml", k_head + "guardrails:\n  - id: t\n    key: net.ipv4.tcp_timestamps\n" + rule);
  EXPECT_NE(policy_error(p).find("y.yaml:7:10"), std::string::npos) << policy_error(p);
  EXPECT_NE(policy_error(p).find("lowest allowed value is 1"), std::string::npos) << policy_error(p);
  p = write("policies/z.yaml", k_head + "guardrails:\n  - id: t\n    key: ../../etc/passwd\n" + rule);
  EXPECT_NE(policy_error(p).find("not a dotted net.* sysctl name"), std::string::npos) << policy_error(p);
}

TEST_F(ConfigTest, PartialPolicyKeepsDefaults)
{
  const auto p = write("policies/strict.yaml",
                       "id: strict\ndescription: d\nrationale: r\n"
                       "fixes:\n  propose_prerequisite_fixes:\n    value: false\n"
                       "    description: d\n    rationale: r\n");
  const Policy policy = config::load_policy_file(p);
  EXPECT_EQ(policy.id, "strict");
  EXPECT_FALSE(policy.propose_prerequisite_fixes.value);
  EXPECT_DOUBLE_EQ(policy.time_wait_pressure.value, config::builtin_policy().time_wait_pressure.value);
  EXPECT_EQ(policy.source, p.string());
}

TEST_F(ConfigTest, YamlSyntaxErrorNamesPosition)
{
  const auto p = write("policies/x.yaml", k_head + "thresholds: [unclosed\n");
  const std::string e = policy_error(p);
  EXPECT_NE(e.find("x.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("YAML syntax"), std::string::npos) << e;
}

TEST_F(ConfigTest, MissingFileNamesPathAndErrno)
{
  const std::string e = policy_error(m_dir / "nope.yaml");
  EXPECT_NE(e.find("nope.yaml"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownProfileNameListsTheKnownOnes)
{
  try {
    config::load_profile("databse", k_source);
    FAIL() << "loaded an unknown profile";
  } catch (const Error& e) {
    // Sorted, not in directory order.
    EXPECT_NE(std::string(e.what()).find("(known: api-client, container-node, default, proxy, web-server)"),
              std::string::npos)
      << e.what();
  }
}

// What --profile and --policy complete to: each KIND/NAME.yaml, sorted; nothing else.
TEST_F(ConfigTest, DataNamesAreTheYamlFilesOfAKind)
{
  write("profiles/web-server.yaml", "");
  write("profiles/api-client.yaml", "");
  write("profiles/README.md", "");
  write("policies/default.yaml", "");
  EXPECT_EQ(config::data_names(m_dir, "profiles"), (std::vector<std::string>{ "api-client", "web-server" }));
  EXPECT_EQ(config::data_names(m_dir, "policies"), std::vector<std::string>{ "default" });
  EXPECT_TRUE(config::data_names(m_dir / "missing", "profiles").empty());
}

TEST_F(ConfigTest, DataDirSearchOrder)
{
  fs::create_directories(m_dir / "env" / "profiles");
  fs::create_directories(m_dir / "inst" / "bin");
  fs::create_directories(m_dir / "inst" / "share" / "tw-advisor" / "policies");
  fs::create_directories(m_dir / "build" / "tests");
  write("build/CMakeCache.txt", "");

  config::DataDirInputs in;
  in.env_dir = (m_dir / "env").string();
  in.exe_dir = m_dir / "inst" / "bin";
  in.source_dir = k_source;
  EXPECT_EQ(config::find_data_dir(in), m_dir / "env");

  in.env_dir.reset();
  EXPECT_EQ(config::find_data_dir(in), (m_dir / "inst" / "share" / "tw-advisor").lexically_normal());

  in.exe_dir = m_dir / "build" / "tests"; // CMakeCache.txt one level up
  EXPECT_EQ(config::find_data_dir(in), k_source);

  in.exe_dir = m_dir / "env";
  EXPECT_THROW(config::find_data_dir(in), Error);

  in.env_dir = (m_dir / "nothing-here").string();
  EXPECT_THROW(config::find_data_dir(in), Error);
}

} // namespace
} // namespace tw::test
