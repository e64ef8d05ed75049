// TuneD as another owner of the keys a plan changes: its profile files, includes, the active
// profile, reapply_sysctl, and what the plan and apply make of it.
#include "config/loader.hpp"
#include "facts/tuned.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

class FactsTuned : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_root = fs::temp_directory_path() / ("tw-tuned-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_root);
  }
  void TearDown() override { fs::remove_all(m_root); }
  void put(const std::string& rel, const std::string& text)
  {
    fs::create_directories((m_root / rel).parent_path());
    std::ofstream(m_root / rel) << text;
  }
  fs::path m_root;
};

TEST(FactsTunedParse, SysctlSectionIncludesAndLines)
{
  const auto p =
    parse_tuned_conf("# comment\n[main]\nsummary=x\ninclude=network-latency, ${f:virt_check:a:b}\n\n"
                     "[sysctl]\nnet.ipv4.tcp_tw_reuse=0\nnet/ipv4/ip_local_port_range = 1024  65000\n"
                     "not a line\n[cpu]\ngovernor=performance\n");
  ASSERT_EQ(p.includes, std::vector<std::string>{ "network-latency" });
  ASSERT_EQ(p.sysctl.size(), 2U);
  EXPECT_EQ(p.sysctl[0].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(p.sysctl[0].value, "0");
  EXPECT_EQ(p.sysctl[0].line, 7U);
  EXPECT_EQ(p.sysctl[1].key, "net.ipv4.ip_local_port_range");
  EXPECT_EQ(p.sysctl[1].value, "1024 65000");
}

TEST_F(FactsTuned, ActiveProfileWithIncludesAndAnAdministratorsCopy)
{
  put("etc/tuned/active_profile", "site\n");
  put("etc/tuned/site/tuned.conf", "[main]\ninclude=base\n[sysctl]\nnet.ipv4.tcp_tw_reuse=0\n");
  put("usr/lib/tuned/base/tuned.conf",
      "[sysctl]\nnet.ipv4.tcp_tw_reuse=1\nnet.ipv4.tcp_timestamps=1\nvm.swappiness=10\n");
  const auto claims = read_tuned_claims(m_root, { "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_timestamps" }, true);
  ASSERT_EQ(claims.size(), 2U);
  EXPECT_EQ(claims[1].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(claims[1].value, "0") << "the including profile wins over its include";
  EXPECT_EQ(claims[1].owner, "TuneD profile site");
  EXPECT_EQ(claims[1].source, "/etc/tuned/site/tuned.conf:4");
  EXPECT_EQ(claims[0].source, "/usr/lib/tuned/base/tuned.conf:3");
  EXPECT_TRUE(claims[1].running);
  EXPECT_FALSE(claims[1].overrides_sysctld) << "reapply_sysctl defaults to 1";
  EXPECT_NE(claims[1].effect.find("re-applies /etc/sysctl.d"), std::string::npos) << claims[1].effect;

  put("etc/tuned/tuned-main.conf", "# x\nreapply_sysctl = 0\n");
  const auto no_reapply = read_tuned_claims(m_root, { "net.ipv4.tcp_tw_reuse" }, false);
  ASSERT_EQ(no_reapply.size(), 1U);
  EXPECT_TRUE(no_reapply[0].overrides_sysctld);
  EXPECT_NE(no_reapply[0].effect.find("undoes apply's change"), std::string::npos) << no_reapply[0].effect;
}

TEST_F(FactsTuned, NoActiveProfileOrAnIncludeLoopClaimsNothingAndEnds)
{
  EXPECT_TRUE(read_tuned_claims(m_root, { "net.ipv4.tcp_tw_reuse" }, true).empty());
  put("etc/tuned/active_profile", "\n");
  EXPECT_TRUE(read_tuned_claims(m_root, { "net.ipv4.tcp_tw_reuse" }, true).empty());
  put("etc/tuned/active_profile", "a");
  put("etc/tuned/a/tuned.conf", "[main]\ninclude=b\n[sysctl]\nnet.ipv4.tcp_tw_reuse=0\n");
  put("etc/tuned/b/tuned.conf", "[main]\ninclude=a\n");
  const auto claims = read_tuned_claims(m_root, { "net.ipv4.tcp_tw_reuse" }, false);
  ASSERT_EQ(claims.size(), 1U);
  EXPECT_EQ(claims[0].value, "0");
}

// As TuneD reads its files: inline comments after whitespace, includes split on ',' and ';'
// with '-' for an optional one, and an administrator's copy that includes the shipped profile
// of the same name.
TEST_F(FactsTuned, ReadAsTunedReadsThem)
{
  put("etc/tuned/active_profile", "throughput-performance\n");
  put("etc/tuned/throughput-performance/tuned.conf",
      "[main]\ninclude=throughput-performance; -missing-one\n[sysctl]\nvm.swappiness = 5 # ours\n");
  put("usr/lib/tuned/throughput-performance/tuned.conf", "[sysctl]\nnet.ipv4.tcp_tw_reuse = 0  # shipped\n");
  put("etc/tuned/tuned-main.conf", "reapply_sysctl = 0  # the profile owns sysctl\n");
  const auto claims = read_tuned_claims(m_root, { "net.ipv4.tcp_tw_reuse" }, false);
  ASSERT_EQ(claims.size(), 1U);
  EXPECT_EQ(claims[0].value, "0");
  EXPECT_EQ(claims[0].source, "/usr/lib/tuned/throughput-performance/tuned.conf:2");
  EXPECT_TRUE(claims[0].overrides_sysctld) << "reapply_sysctl = 0 with an inline comment is still 0";
  const auto parsed = parse_tuned_conf("[main]\ninclude = a ; b,-c\n");
  EXPECT_EQ(parsed.includes, (std::vector<std::string>{ "a", "b", "c" }));
}

// TuneD in containers (the Node Tuning Operator's tuned pod), read through a /proc made of
// symbolic links: PID/comm, PID/root and PID/ns/net as the kernel shows them.
TEST_F(FactsTuned, TunedInAContainerWithTheHostsNetworkIsReadThroughItsRoot)
{
  const fs::path proc = m_root / "proc";
  put("host/etc/sysctl.d/README", "");
  put("ns/host", "");
  put("ns/other", "");
  const std::string profile = "[sysctl]\nnet.ipv4.tcp_tw_reuse = 0\n";
  // 200: its own /etc/sysctl.d; 300: the same but in a network namespace of its own; 400: the
  // host's /etc/sysctl.d bind-mounted; 100: the host's own TuneD; 500: not TuneD.
  for (const char* c : { "c200", "c300", "c400" }) {
    put(std::string(c) + "/etc/tuned/active_profile", "openshift-node\n");
    put(std::string(c) + "/etc/tuned/openshift-node/tuned.conf", profile);
  }
  put("c200/etc/sysctl.d/README", "");
  put("c300/etc/sysctl.d/README", "");
  fs::create_directory_symlink(m_root / "host/etc/sysctl.d", m_root / "c400/etc/sysctl.d");
  const auto process =
    [&](const std::string& pid, const std::string& comm, const fs::path& root, const char* net) {
      put("proc/" + pid + "/comm", comm + "\n");
      fs::create_directory_symlink(root, proc / pid / "root");
      fs::create_directories(proc / pid / "ns");
      fs::create_symlink(m_root / "ns" / net, proc / pid / "ns/net");
    };
  process("100", "tuned", m_root / "host", "host");
  process("200", "tuned", m_root / "c200", "host");
  process("300", "tuned", m_root / "c300", "other");
  process("400", "tuned", m_root / "c400", "host");
  process("500", "bash", m_root / "c200", "host");
  // 600: a root that cannot be followed (as /proc/PID/root of another user's process without
  // root): not known to be a container's, so the host's.
  process("600", "tuned", m_root / "gone", "host");

  const auto daemons = tuned_daemons(proc, m_root / "host");
  ASSERT_EQ(daemons.size(), 5U);
  for (const auto& d : daemons) {
    EXPECT_EQ(d.host_root, d.pid == "100" || d.pid == "600") << d.pid;
  }

  struct stat host_net
  {};
  ASSERT_EQ(::stat((m_root / "ns/host").c_str(), &host_net), 0);
  auto claims =
    read_container_tuned_claims(proc, m_root / "host", host_net.st_ino, { "net.ipv4.tcp_tw_reuse" });
  ASSERT_EQ(claims.size(), 2U) << "200 and 400: not the host's own, not another network namespace";
  std::sort(claims.begin(), claims.end(), [](const auto& a, const auto& b) { return a.owner < b.owner; });
  EXPECT_EQ(claims[0].owner, "TuneD profile openshift-node in a container (pid 200)");
  EXPECT_EQ(claims[0].source, "/proc/200/root/etc/tuned/openshift-node/tuned.conf:2");
  EXPECT_EQ(claims[0].value, "0");
  EXPECT_TRUE(claims[0].running);
  EXPECT_TRUE(claims[0].overrides_sysctld) << "it re-applies its own /etc/sysctl.d, not the host's";
  EXPECT_NE(claims[0].effect.find("only its container's /etc/sysctl.d"), std::string::npos)
    << claims[0].effect;
  EXPECT_TRUE(claims[0].in_container());
  EXPECT_EQ(claims[1].owner, "TuneD profile openshift-node in a container (pid 400)");
  EXPECT_FALSE(claims[1].overrides_sysctld) << "the host's /etc/sysctl.d is its own: apply's file wins again";
  EXPECT_TRUE(
    read_container_tuned_claims(proc, m_root / "host", host_net.st_ino, { "net.ipv4.ip_local_port_range" })
      .empty());
  EXPECT_EQ(read_container_tuned_claims(proc, m_root / "host", 0, { "net.ipv4.tcp_tw_reuse" }).size(), 3U)
    << "the host's namespace unknown: every container's TuneD counts";
}

TEST(PolicyTuner, AFindingNamesTheOwnerWhenItSetsAnotherValue)
{
  Facts f = stuck_client_behind_nat();
  f.boot = BootFacts{};
  f.boot->tuners.push_back({ "TuneD profile site",
                             "net.ipv4.tcp_tw_reuse",
                             "0",
                             "/etc/tuned/site/tuned.conf:4",
                             true,
                             true,
                             "TuneD sets it to 0 at each start" });
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_FALSE(p.changes.empty());
  const Finding* t = p.finding("tuner-owns-key");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->severity, Severity::warning);
  EXPECT_NE(
    t->summary.find("TuneD profile site sets net.ipv4.tcp_tw_reuse = 0 (/etc/tuned/site/tuned.conf:4; "
                    "tuned running)"),
    std::string::npos)
    << t->summary;
  EXPECT_EQ(t->rationale.find("Tuned resource"), std::string::npos) << "a host's TuneD: " << t->rationale;
  // A TuneD in a container: its profile is rendered from the Node Tuning Operator's Tuned resource.
  f.boot->tuners[0].source = "/proc/4242/root/etc/tuned/openshift-node/tuned.conf:2";
  const Plan in_pod = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_NE(in_pod.finding("tuner-owns-key"), nullptr);
  EXPECT_NE(in_pod.finding("tuner-owns-key")->rationale.find("Tuned resource"), std::string::npos)
    << in_pod.finding("tuner-owns-key")->rationale;
  f.boot->tuners[0].source = "/etc/tuned/site/tuned.conf:4";
  // The same value as the plan's: no conflict, no finding.
  f.boot->tuners[0].value = "1";
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).finding("tuner-owns-key"), nullptr);
}

} // namespace
} // namespace tw::test
