#include "sysctld/check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace tw::sysctld {
namespace {

namespace fs = std::filesystem;

// A kernel in memory: the keys it has and their values, and what listens.
KernelView memory_kernel(std::map<std::string, std::string> values, std::vector<std::uint16_t> listening)
{
  KernelView k;
  k.read = [values](const std::string& key) {
    SysctlValue v;
    v.key = key;
    const auto it = values.find(key);
    if (it != values.end()) {
      v.status = ReadStatus::ok;
      v.value = it->second;
    }
    return v;
  };
  k.expand = [values](const std::string& pattern) {
    std::vector<std::string> out;
    for (const auto& [key, value] : values) {
      if (glob_matches(pattern, key)) {
        out.push_back(key);
      }
    }
    return out;
  };
  k.listening = std::move(listening);
  return k;
}

const std::map<std::string, std::string> k_defaults = {
  { "net.ipv4.tcp_tw_reuse", "2" },
  { "net.ipv4.tcp_timestamps", "1" },
  { "net.ipv4.ip_local_port_range", "32768 60999" },
  { "net.ipv4.ip_local_reserved_ports", "" },
  { "net.ipv4.conf.lo.rp_filter", "0" },
  { "net.ipv4.tcp_max_tw_buckets", "262144" },
  { "net.ipv4.tcp_fin_timeout", "60" },
};

std::vector<std::string> ids(const CheckReport& r)
{
  std::vector<std::string> out;
  for (const auto& f : r.findings) {
    out.push_back(f.id);
  }
  return out;
}

bool has_id(const CheckReport& r, const std::string& id)
{
  const auto v = ids(r);
  return std::find(v.begin(), v.end(), id) != v.end();
}

CheckReport check_text(const std::string& text, const std::vector<std::uint16_t>& listening = {})
{
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist";
  return run_check({ ProposedFile{ "/etc/sysctl.d/60-net.conf", "new.conf", text } },
                   memory_kernel(k_defaults, listening),
                   options);
}

TEST(SysctldCheck, CleanFileHasNoFindings)
{
  const auto r = check_text("net.ipv4.tcp_tw_reuse = 1\n");
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.errors(), 0U);
}

// "= 1 # note" is one mistake, reported once: the comment, an error because the kernel then
// refuses the value (not a second bad-value finding on the same line).
TEST(SysctldCheck, ATrailingCommentThatSpoilsTheValueIsOneError)
{
  const auto r = check_text("net.ipv4.tcp_tw_reuse = 1 # reuse: on\n");
  ASSERT_EQ(r.findings.size(), 1U) << ids(r).size() << " findings, the first " << r.findings.front().id;
  const auto& f = r.findings.front();
  EXPECT_EQ(f.id, "trailing-comment");
  EXPECT_EQ(f.severity, Severity::error);
  EXPECT_NE(
    f.message.find(
      "Put the comment on its own line. As written, the kernel refuses the value: the key takes a whole "
      "number; the kernel range is 0..2"),
    std::string::npos)
    << f.message;
  // A glob line's value problems name each key it matches: still one finding, the comment.
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist";
  options.extra_ranges.push_back({ "net.ipv4.conf.lo.rp_filter", 0, 2, "policy's test" });
  const auto glob = run_check(
    { ProposedFile{ "/etc/sysctl.d/60-net.conf", "new.conf", "net.ipv4.conf.*.rp_filter = 1 # strict\n" } },
    memory_kernel(k_defaults, {}),
    options);
  ASSERT_EQ(glob.findings.size(), 1U) << glob.findings.size() << " findings, the second "
                                      << (glob.findings.size() > 1 ? glob.findings[1].id : "");
  EXPECT_EQ(glob.findings.front().id, "trailing-comment");
  EXPECT_EQ(glob.findings.front().severity, Severity::error);
  // Where check knows no range for the key it cannot say what the kernel makes of the value: the
  // comment stays a warning.
  const auto fin = check_text("net.ipv4.tcp_fin_timeout = 30 # shorter\n");
  ASSERT_EQ(fin.findings.size(), 1U);
  EXPECT_EQ(fin.findings.front().severity, Severity::warning) << fin.findings.front().message;
}

// One mistake, one finding: the kernel's range says more than the same policy range, the
// timestamps rule more than a policy range, the inverted-range finding more than bad-value.
TEST(SysctldCheck, AMistakeIsReportedOnceByItsMostSpecificFinding)
{
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist";
  options.extra_ranges.push_back({ "net.ipv4.tcp_tw_reuse", 0, 2, "policy default" });
  options.extra_ranges.push_back({ "net.ipv4.tcp_timestamps", 1, 2, "policy default" });
  const auto r = run_check({ ProposedFile{ "/etc/sysctl.d/60-net.conf",
                                           "new.conf",
                                           "net.ipv4.tcp_tw_reuse = 5\n"
                                           "net.ipv4.tcp_timestamps = 0\n"
                                           "net.ipv4.ip_local_port_range = 50000 40000\n" } },
                           memory_kernel(k_defaults, {}),
                           options);
  std::map<unsigned, std::vector<std::string>> by_line;
  for (const auto& f : r.findings) {
    by_line[f.line].push_back(f.id);
  }
  EXPECT_EQ(by_line[1], std::vector<std::string>{ "out-of-range" });
  EXPECT_EQ(by_line[2], std::vector<std::string>{ "timestamps-off" });
  EXPECT_EQ(by_line[3], std::vector<std::string>{ "port-range-inverted" });
  EXPECT_EQ(r.errors(), 3U);
}

// tw-advisor's own file is apply's to write: configuration management installing it would make the
// next apply refuse and a rollback overwrite it.
TEST(SysctldCheck, TheFileApplyGeneratesIsNotADestination)
{
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist";
  const auto r = run_check(
    { ProposedFile{ "/etc/sysctl.d/90-tw-advisor.conf", "new.conf", "net.ipv4.tcp_tw_reuse = 0\n" } },
    memory_kernel(k_defaults, {}),
    options);
  ASSERT_TRUE(has_id(r, "generated-file"));
  EXPECT_GE(r.errors(), 1U);
  EXPECT_FALSE(has_id(check_text("net.ipv4.tcp_tw_reuse = 0\n"), "generated-file"));
  // apply's own file, checked where it lies, is not another writer's.
  const auto own = run_check({ ProposedFile{ "/etc/sysctl.d/90-tw-advisor.conf",
                                             "90-tw-advisor.conf",
                                             "# Generated by tw-advisor 0.1.0 at 2026-12-05T21:00:00Z\n"
                                             "net.ipv4.tcp_tw_reuse = 1\n" } },
                             memory_kernel(k_defaults, {}),
                             options);
  EXPECT_FALSE(has_id(own, "generated-file"));
}

TEST(SysctldCheck, ListenerInsideTheRangeUnlessReserved)
{
  const auto r = check_text("net.ipv4.ip_local_port_range = 20000 60999\n", { 22, 25000 });
  EXPECT_TRUE(has_id(r, "port-range-covers-listener"));
  EXPECT_EQ(r.errors(), 1U);
  const auto reserved = check_text(
    "net.ipv4.ip_local_port_range = 20000 60999\nnet.ipv4.ip_local_reserved_ports = 25000\n", { 25000 });
  EXPECT_FALSE(has_id(reserved, "port-range-covers-listener"));
  // Unknown listeners: the check is skipped, not guessed.
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist";
  auto kernel = memory_kernel(k_defaults, {});
  kernel.listening.reset();
  const auto unknown =
    run_check({ ProposedFile{
                "/etc/sysctl.d/60-net.conf", "new.conf", "net.ipv4.ip_local_port_range = 20000 60999\n" } },
              kernel,
              options);
  EXPECT_FALSE(has_id(unknown, "port-range-covers-listener"));
}

TEST(SysctldCheck, GlobsAreCheckedAgainstTheKeysTheyMatch)
{
  const auto none = check_text("net.ipv4.conf.*.no_such = 1\n");
  EXPECT_TRUE(has_id(none, "glob-matches-nothing"));
  EXPECT_EQ(none.errors(), 0U);
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist";
  options.extra_ranges.push_back({ "net.ipv4.conf.lo.rp_filter", 0, 2, "policy's test" });
  const auto r =
    run_check({ ProposedFile{ "/etc/sysctl.d/60-net.conf", "new.conf", "net.ipv4.conf.*.rp_filter = 7\n" } },
              memory_kernel(k_defaults, {}),
              options);
  EXPECT_TRUE(has_id(r, "policy-range"));
}

TEST(SysctldCheck, FindingsSeenUnderOneLoaderSayWhich)
{
  CheckOptions options;
  options.root = fs::path(TW_TEST_DATA_DIR) / "sysctld" / "trees" / "sysctl-conf";
  // tcp_max_tw_buckets: 60-net.conf sorts after 10-base.conf and wins under both loaders.
  const auto r = run_check(
    { ProposedFile{ "/etc/sysctl.d/60-net.conf", "new.conf", "net.ipv4.tcp_max_tw_buckets = 9000\n" } },
    memory_kernel(k_defaults, {}),
    options);
  ASSERT_EQ(r.findings.size(), 1U);
  EXPECT_EQ(r.findings[0].id, "overrides");
  EXPECT_EQ(r.findings[0].message.find("(under"), std::string::npos) << r.findings[0].message;
  const auto one =
    run_check({ ProposedFile{ "/etc/sysctl.d/60-net.conf", "new.conf", "net.ipv4.tcp_fin_timeout = 30\n" } },
              memory_kernel(k_defaults, {}),
              options);
  ASSERT_FALSE(one.findings.empty());
  for (const auto& f : one.findings) {
    EXPECT_NE(f.message.find("(under "), std::string::npos) << f.message;
  }
}

TEST(SysctldCheck, DestinationIsInferredFromWhereTheFileLies)
{
  bool assumed = true;
  EXPECT_EQ(infer_dest("/etc/sysctl.d/60-net.conf", "/", assumed), "/etc/sysctl.d/60-net.conf");
  EXPECT_FALSE(assumed);
  EXPECT_EQ(infer_dest("/srv/img/usr/lib/sysctl.d/50-x.conf", "/srv/img", assumed),
            "/usr/lib/sysctl.d/50-x.conf");
  EXPECT_FALSE(assumed);
  EXPECT_EQ(infer_dest("/home/me/repo/etc/sysctl.d/60-net.conf", "/", assumed), "/etc/sysctl.d/60-net.conf");
  EXPECT_FALSE(assumed);
  EXPECT_EQ(infer_dest("/tmp/ansible.xyz", "/", assumed), "/etc/sysctl.d/ansible.xyz");
  EXPECT_TRUE(assumed);
  EXPECT_EQ(infer_dest("/srv/img/etc/sysctl.conf", "/srv/img", assumed), "/etc/sysctl.conf");
  EXPECT_FALSE(assumed);
}

} // namespace
} // namespace tw::sysctld
