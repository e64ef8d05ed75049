#include "sysctld/resolver.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tw::sysctld {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name)
{
  return fs::path(TW_TEST_DATA_DIR) / "sysctld" / "trees" / name;
}

// The winner of key as "file:line=value", or "excluded" / "unset".
std::string who(const BootResolution& res, const std::string& key)
{
  const auto o = res.outcome(key);
  if (o.winner) {
    return o.winner->file + ":" + std::to_string(o.winner->line) + "=" + o.winner->value.value_or("");
  }
  return o.excluded ? "excluded" : "unset";
}

TEST(SysctldResolver, FilesAreOrderedByNameAcrossDirectories)
{
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    SCOPED_TRACE(to_string(loader));
    const auto res = resolve(fixture("order"), loader);
    ASSERT_EQ(res.files.size(), 4U);
    EXPECT_EQ(res.files[0].path, "/usr/local/lib/sysctl.d/05-local-lib.conf");
    EXPECT_EQ(res.files[1].path, "/etc/sysctl.d/10-local.conf");
    EXPECT_EQ(res.files[2].path, "/usr/lib/sysctl.d/20-vendor.conf");
    EXPECT_EQ(res.files[3].path, "/run/sysctl.d/30-runtime.conf");
    // /etc/sysctl.d/10-local.conf sets tcp_tw_reuse, but the vendor file sorts later and wins.
    EXPECT_EQ(who(res, "net.ipv4.tcp_tw_reuse"), "/usr/lib/sysctl.d/20-vendor.conf:1=1");
    EXPECT_EQ(who(res, "net.ipv4.tcp_fin_timeout"), "/run/sysctl.d/30-runtime.conf:1=32");
    EXPECT_EQ(who(res, "net.ipv4.tcp_max_tw_buckets"), "/usr/lib/sysctl.d/20-vendor.conf:3=5000");
    EXPECT_EQ(who(res, "net.ipv4.tcp_syncookies"), "/usr/local/lib/sysctl.d/05-local-lib.conf:2=2");
    EXPECT_EQ(who(res, "net.ipv4.tcp_timestamps"), "unset");
    EXPECT_EQ(res.outcome("net.ipv4.tcp_tw_reuse").assignments.size(), 2U);
  }
}

TEST(SysctldResolver, SameNameInAHigherDirectoryMasksTheLowerFile)
{
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    SCOPED_TRACE(to_string(loader));
    const auto res = resolve(fixture("mask"), loader);
    // /etc/sysctl.d/50-net.conf replaces /usr/lib/sysctl.d/50-net.conf entirely: its
    // tcp_fin_timeout line is never read.
    EXPECT_EQ(who(res, "net.ipv4.tcp_tw_reuse"), "/etc/sysctl.d/50-net.conf:1=0");
    EXPECT_EQ(who(res, "net.ipv4.tcp_fin_timeout"), "unset");
    // A link to /dev/null and an empty file mask too.
    EXPECT_EQ(who(res, "net.ipv4.tcp_max_tw_buckets"), "unset");
    EXPECT_EQ(who(res, "net.ipv4.tcp_syncookies"), "unset");
    // /usr/local/lib beats /usr/lib for the same name.
    EXPECT_EQ(who(res, "net.ipv4.tcp_timestamps"), "/usr/local/lib/sysctl.d/80-local.conf:1=2");
    bool saw_devnull = false;
    bool saw_empty = false;
    for (const auto& s : res.shadowed) {
      if (s.path == "/usr/lib/sysctl.d/60-gone.conf") {
        saw_devnull = s.by_mask && s.shadowed_by == "/etc/sysctl.d/60-gone.conf";
      }
      if (s.path == "/usr/lib/sysctl.d/70-empty.conf") {
        saw_empty = s.by_mask && s.shadowed_by == "/run/sysctl.d/70-empty.conf";
      }
    }
    EXPECT_TRUE(saw_devnull);
    EXPECT_TRUE(saw_empty);
    EXPECT_EQ(res.shadowed.size(), 4U);
  }
}

TEST(SysctldResolver, ProcpsAppliesEtcSysctlConfLastSystemdOnlyThroughTheLink)
{
  const auto sd = resolve(fixture("sysctl-conf"), Loader::systemd);
  const auto pp = resolve(fixture("sysctl-conf"), Loader::procps);
  EXPECT_EQ(who(sd, "net.ipv4.tcp_tw_reuse"), "/etc/sysctl.d/99-zz-tuning.conf:1=1");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_tw_reuse"), "/etc/sysctl.conf:2=0");
  EXPECT_EQ(who(sd, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.d/99-sysctl.conf:3=51");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.conf:3=51");
  EXPECT_EQ(who(sd, "net.ipv4.tcp_max_tw_buckets"), "/usr/lib/sysctl.d/10-base.conf:2=7000");
  ASSERT_FALSE(pp.files.empty());
  EXPECT_EQ(pp.files.back().path, "/etc/sysctl.conf");
  EXPECT_EQ(sd.files.back().path, "/etc/sysctl.d/99-zz-tuning.conf");
}

TEST(SysctldResolver, SeparatorsAndIgnoreFailureSurviveResolution)
{
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    SCOPED_TRACE(to_string(loader));
    const auto res = resolve(fixture("syntax"), loader);
    EXPECT_EQ(res.boot_value("net.ipv4.conf.tw/0.rp_filter"), "2");
    EXPECT_EQ(res.boot_value("net.ipv4.conf.tw/0.accept_local"), "1");
    EXPECT_EQ(res.boot_value("net.ipv4.tcp_syncookies"), "2");
    EXPECT_EQ(res.boot_value("net.ipv4.tcp_max_tw_buckets"), "8000");
    EXPECT_TRUE(
      same_sysctl_value(res.boot_value("net.ipv4.ip_local_port_range").value_or(""), "40000 40999"));
    const auto recycle = res.outcome("net.ipv4.tcp_tw_recycle");
    ASSERT_TRUE(recycle.winner.has_value());
    EXPECT_TRUE(recycle.winner->ignore_failure);
    EXPECT_TRUE(res.problems.empty()) << res.problems.front().message;
  }
}

TEST(SysctldResolver, ExplicitKeysBeatGlobsAndExclusionsKeepGlobsOff)
{
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    SCOPED_TRACE(to_string(loader));
    const auto res = resolve(fixture("globs"), loader);
    EXPECT_EQ(who(res, "net.ipv4.conf.lo.rp_filter"), "/etc/sysctl.d/05-explicit.conf:2=0");
    EXPECT_EQ(who(res, "net.ipv4.conf.all.rp_filter"), "/usr/lib/sysctl.d/10-glob.conf:1=2");
    EXPECT_EQ(who(res, "net.ipv4.conf.default.rp_filter"), "excluded");
    EXPECT_EQ(who(res, "net.ipv4.conf.eth0.accept_local"), "/usr/lib/sysctl.d/10-glob.conf:2=1");
    EXPECT_EQ(res.globs().size(), 2U);
  }
}

TEST(SysctldResolver, OnlyProcpsHonoursAGlobInAnExclusion)
{
  const auto sd = resolve(fixture("glob-exclusion"), Loader::systemd);
  const auto pp = resolve(fixture("glob-exclusion"), Loader::procps);
  EXPECT_EQ(who(sd, "net.ipv4.conf.tw/0.rp_filter"), "/usr/lib/sysctl.d/10-glob.conf:1=2");
  EXPECT_EQ(who(pp, "net.ipv4.conf.tw/0.rp_filter"), "excluded");
  EXPECT_EQ(who(sd, "net.ipv4.conf.lo.rp_filter"), "/usr/lib/sysctl.d/10-glob.conf:1=2");
  EXPECT_EQ(who(pp, "net.ipv4.conf.lo.rp_filter"), "/usr/lib/sysctl.d/10-glob.conf:1=2");
}

TEST(SysctldResolver, SystemdKeepsTheFirstOfEqualAssignmentsProcpsTheLast)
{
  const auto sd = resolve(fixture("same-value"), Loader::systemd);
  const auto pp = resolve(fixture("same-value"), Loader::procps);
  // systemd: the repeated glob with the same value keeps 10-a.conf's place, so 20-b.conf's glob
  // is applied after it. procps writes all three in order.
  EXPECT_EQ(who(sd, "net.ipv4.conf.lo.rp_filter"), "/etc/sysctl.d/20-b.conf:1=2");
  EXPECT_EQ(who(pp, "net.ipv4.conf.lo.rp_filter"), "/etc/sysctl.d/30-c.conf:2=1");
  EXPECT_EQ(who(sd, "net.ipv4.tcp_fin_timeout"), "/usr/lib/sysctl.d/05-first.conf:1=44");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.d/30-c.conf:3=44");
}

TEST(SysctldResolver, SystemdExclusionCancelsAnEarlierAssignment)
{
  const auto sd = resolve(fixture("exclusion-cancels"), Loader::systemd);
  const auto pp = resolve(fixture("exclusion-cancels"), Loader::procps);
  EXPECT_EQ(who(sd, "net.ipv4.tcp_fin_timeout"), "excluded");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.d/10-set.conf:1=33");
  EXPECT_EQ(who(sd, "net.ipv4.tcp_max_tw_buckets"), "/etc/sysctl.d/10-set.conf:2=9000");
}

TEST(SysctldResolver, OnlyProcpsReadsLibSysctlD)
{
  const auto sd = resolve(fixture("lib-dir"), Loader::systemd);
  const auto pp = resolve(fixture("lib-dir"), Loader::procps);
  EXPECT_EQ(who(sd, "net.ipv4.tcp_fin_timeout"), "/usr/lib/sysctl.d/60-usr.conf:1=36");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_fin_timeout"), "/lib/sysctl.d/70-lib.conf:2=37");
}

TEST(SysctldResolver, OnlyProcpsReadsHiddenFilesAndBothNeedDotConf)
{
  const auto sd = resolve(fixture("hidden"), Loader::systemd);
  const auto pp = resolve(fixture("hidden"), Loader::procps);
  EXPECT_EQ(who(sd, "net.ipv4.tcp_fin_timeout"), "unset");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.d/.50-hidden.conf:2=38");
  EXPECT_EQ(who(sd, "net.ipv4.tcp_max_tw_buckets"), "/etc/sysctl.d/40-visible.conf:1=6200");
  EXPECT_EQ(who(pp, "net.ipv4.tcp_max_tw_buckets"), "/etc/sysctl.d/40-visible.conf:1=6200");
}

TEST(SysctldResolver, AbsoluteLinksResolveInsideTheRoot)
{
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    SCOPED_TRACE(to_string(loader));
    const auto res = resolve(fixture("abs-link"), loader);
    EXPECT_EQ(who(res, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.d/60-link.conf:1=42");
  }
}

TEST(SysctldResolver, ProposedFilesAreLaidOverTheTree)
{
  // A proposed /etc/sysctl.d/20-vendor.conf masks the vendor file of the same name.
  const ProposedFile p{ "/etc/sysctl.d/20-vendor.conf", "new.conf", "net.ipv4.tcp_tw_reuse = 2\n" };
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    SCOPED_TRACE(to_string(loader));
    const auto res = resolve(fixture("order"), loader, { p });
    EXPECT_EQ(who(res, "net.ipv4.tcp_tw_reuse"), "new.conf:1=2");
    EXPECT_EQ(who(res, "net.ipv4.tcp_max_tw_buckets"), "/usr/local/lib/sysctl.d/05-local-lib.conf:1=4000");
  }
  // A proposed /etc/sysctl.conf is what Debian's 99-sysctl.conf link reads under systemd.
  const ProposedFile conf{ "/etc/sysctl.conf", "sysctl.conf.new", "net.ipv4.tcp_fin_timeout = 52\n" };
  const auto sd = resolve(fixture("sysctl-conf"), Loader::systemd, { conf });
  EXPECT_EQ(who(sd, "net.ipv4.tcp_fin_timeout"), "sysctl.conf.new:1=52");
}

TEST(SysctldResolver, PlacementNamesWhatOverridesAFile)
{
  const auto root = fixture("sysctl-conf");
  const auto sd =
    check_placement(root, Loader::systemd, "/etc/sysctl.d/60-x.conf", { "net.ipv4.tcp_tw_reuse" }, { "2" });
  ASSERT_EQ(sd.size(), 1U);
  EXPECT_FALSE(sd[0].wins);
  ASSERT_TRUE(sd[0].winner.has_value());
  EXPECT_EQ(sd[0].winner->file, "/etc/sysctl.d/99-zz-tuning.conf");
  EXPECT_NE(sd[0].reason.find("/etc/sysctl.d/99-zz-tuning.conf:1"), std::string::npos);
  const auto pp =
    check_placement(root, Loader::procps, "/etc/sysctl.d/zzz.conf", { "net.ipv4.tcp_tw_reuse" }, { "2" });
  ASSERT_EQ(pp.size(), 1U);
  EXPECT_FALSE(pp[0].wins);
  EXPECT_EQ(pp[0].winner->file, "/etc/sysctl.conf");
  const auto free_key =
    check_placement(root, Loader::procps, "/etc/sysctl.d/60-x.conf", { "net.ipv4.tcp_timestamps" }, { "1" });
  EXPECT_TRUE(free_key[0].wins);
}

TEST(SysctldResolver, BootDriftNamesTheWinningFile)
{
  const auto res = resolve(fixture("order"), Loader::systemd);
  Sysctls runtime;
  runtime.values["net.ipv4.tcp_tw_reuse"] =
    SysctlValue{ "net.ipv4.tcp_tw_reuse", ReadStatus::ok, "0", 0, {} };
  runtime.values["net.ipv4.tcp_fin_timeout"] =
    SysctlValue{ "net.ipv4.tcp_fin_timeout", ReadStatus::ok, "32", 0, {} };
  runtime.values["net.ipv4.tcp_timestamps"] =
    SysctlValue{ "net.ipv4.tcp_timestamps", ReadStatus::ok, "0", 0, {} };
  runtime.values["net.ipv4.tcp_syncookies"] =
    SysctlValue{ "net.ipv4.tcp_syncookies", ReadStatus::absent, "", 2, {} };
  const auto drift = boot_drift(runtime, std::vector<BootResolution>{ res });
  ASSERT_EQ(drift.size(), 1U);
  EXPECT_EQ(drift[0].key, "net.ipv4.tcp_tw_reuse");
  EXPECT_EQ(drift[0].runtime, "0");
  ASSERT_EQ(drift[0].boots.size(), 1U);
  EXPECT_EQ(drift[0].boots[0].boot, "1");
  ASSERT_TRUE(drift[0].boots[0].source.has_value());
  EXPECT_EQ(drift[0].boots[0].source->file, "/usr/lib/sysctl.d/20-vendor.conf");
  EXPECT_EQ(drift[0].boots[0].source->line, 1U);
  EXPECT_EQ(
    drift[0].message,
    "net.ipv4.tcp_tw_reuse is 0 now but /usr/lib/sysctl.d/20-vendor.conf:1 sets 1 at boot (systemd-sysctl)");
}

TEST(SysctldResolver, ValuesCompareAsTheKernelShowsThem)
{
  EXPECT_TRUE(same_sysctl_value("32768\t60999", "32768 60999"));
  EXPECT_TRUE(same_sysctl_value("01", "1"));
  EXPECT_FALSE(same_sysctl_value("1", "2"));
  EXPECT_FALSE(same_sysctl_value("1 2", "1"));
}

TEST(SysctldResolver, MissingRootIsAnEmptyConfiguration)
{
  const auto res = resolve(fs::path(TW_TEST_DATA_DIR) / "sysctld" / "does-not-exist", Loader::procps);
  EXPECT_TRUE(res.files.empty());
  EXPECT_EQ(who(res, "net.ipv4.tcp_tw_reuse"), "unset");
}

// Runs fn in a child process as uid/gid 65534 when the test runs as root (root reads every file
// whatever its mode), as the current user otherwise; returns the child's exit status.
int as_nobody(const std::function<int()>& fn)
{
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                             ::setresuid(65534, 65534, 65534) != 0)) {
      ::_exit(100);
    }
    ::_exit(fn());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

class TempTree : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_root = fs::temp_directory_path() / ("tw-resolver-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_root);
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_root, ec);
  }
  void put(const std::string& name, const std::string& content)
  {
    const auto path = m_root / fs::path(name).relative_path();
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }
  fs::path m_root;
};

TEST_F(TempTree, UnreadableDirsAndFilesMakeTheResolutionIncomplete)
{
  put("/etc/sysctl.d/60-net.conf", "net.ipv4.tcp_tw_reuse = 1\n");
  put("/run/sysctl.d/99-z.conf", "net.ipv4.tcp_tw_reuse = 0\n");
  const auto full = resolve(m_root, Loader::systemd);
  ASSERT_TRUE(full.complete());
  ASSERT_EQ(who(full, "net.ipv4.tcp_tw_reuse"), "/run/sysctl.d/99-z.conf:1=0");

  // Exit codes of the child: 0 all as expected, 10+ which check failed.
  const auto expect_unreadable = [&](const fs::path& path) {
    return as_nobody([&]() -> int {
      for (const auto loader : { Loader::systemd, Loader::procps }) {
        const auto res = resolve(m_root, loader);
        if (res.complete() || res.unreadable.size() != 1) {
          return 10;
        }
        if (res.unreadable[0].path != path || res.unreadable[0].error != EACCES ||
            res.unreadable[0].reason != "Permission denied") {
          return 11;
        }
        const auto placement =
          check_placement(m_root, loader, "/etc/sysctl.d/60-net.conf", { "net.ipv4.tcp_tw_reuse" }, { "1" });
        if (placement.size() != 1 || placement[0].unreadable.size() != 1 ||
            placement[0].unreadable[0].path != path) {
          return 12;
        }
      }
      return 0;
    });
  };
  fs::permissions(m_root / "run/sysctl.d", fs::perms::owner_all);
  EXPECT_EQ(expect_unreadable("/run/sysctl.d"), 0);
  fs::permissions(m_root / "run/sysctl.d",
                  fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                    fs::perms::others_exec,
                  fs::perm_options::add);
  fs::permissions(m_root / "run/sysctl.d/99-z.conf", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(expect_unreadable("/run/sysctl.d/99-z.conf"), 0);
  // Readable again: complete, for the same user.
  fs::permissions(m_root / "run/sysctl.d/99-z.conf", fs::perms::others_read, fs::perm_options::add);
  EXPECT_EQ(as_nobody([&] { return resolve(m_root, Loader::procps).complete() ? 0 : 1; }), 0);
}

TEST_F(TempTree, ADanglingLinkOrMissingDirIsNotUnreadable)
{
  put("/etc/sysctl.d/60-net.conf", "net.ipv4.tcp_tw_reuse = 1\n");
  fs::create_symlink("/nowhere.conf", m_root / "etc/sysctl.d/70-gone.conf");
  for (const auto loader : { Loader::systemd, Loader::procps }) {
    const auto res = resolve(m_root, loader);
    EXPECT_TRUE(res.complete()) << to_string(loader);
  }
}

TEST(SysctldResolver, BootDriftSaysWhetherTheLoadersAgree)
{
  Sysctls runtime;
  runtime.values["net.ipv4.tcp_tw_reuse"] =
    SysctlValue{ "net.ipv4.tcp_tw_reuse", ReadStatus::ok, "0", 0, {} };
  const std::vector<BootResolution> order = { resolve(fixture("order"), Loader::systemd),
                                              resolve(fixture("order"), Loader::procps) };
  const auto agree = boot_drift(runtime, order);
  ASSERT_EQ(agree.size(), 1U);
  ASSERT_EQ(agree[0].boots.size(), 2U);
  EXPECT_EQ(agree[0].message,
            "net.ipv4.tcp_tw_reuse is 0 now but /usr/lib/sysctl.d/20-vendor.conf:1 sets 1 at boot under both "
            "loaders");

  runtime.values["net.ipv4.tcp_tw_reuse"] =
    SysctlValue{ "net.ipv4.tcp_tw_reuse", ReadStatus::ok, "2", 0, {} };
  const std::vector<BootResolution> split = { resolve(fixture("sysctl-conf"), Loader::systemd),
                                              resolve(fixture("sysctl-conf"), Loader::procps) };
  const auto differ = boot_drift(runtime, split);
  ASSERT_EQ(differ.size(), 1U);
  EXPECT_EQ(differ[0].message,
            "net.ipv4.tcp_tw_reuse is 2 now but the loaders differ at boot: systemd-sysctl: "
            "/etc/sysctl.d/99-zz-tuning.conf:1 sets 1; sysctl --system: /etc/sysctl.conf:2 sets 0");
  EXPECT_EQ(differ[0].boots[1].source->file, "/etc/sysctl.conf");

  // No drift when the running value is what both set.
  runtime.values["net.ipv4.tcp_tw_reuse"] =
    SysctlValue{ "net.ipv4.tcp_tw_reuse", ReadStatus::ok, "1", 0, {} };
  EXPECT_TRUE(boot_drift(runtime, order).empty());

  // The same value from different files: they agree on what, not on where; never "differ".
  const auto tmp = fs::temp_directory_path() / ("tw-sysctld-same-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "etc/sysctl.d");
  std::ofstream(tmp / "etc/sysctl.d/50-a.conf") << "net.ipv4.tcp_tw_reuse = 1\n";
  std::ofstream(tmp / "etc/sysctl.conf") << "net.ipv4.tcp_tw_reuse = 1\n";
  runtime.values["net.ipv4.tcp_tw_reuse"] =
    SysctlValue{ "net.ipv4.tcp_tw_reuse", ReadStatus::ok, "0", 0, {} };
  const auto same = boot_drift(runtime, { resolve(tmp, Loader::systemd), resolve(tmp, Loader::procps) });
  fs::remove_all(tmp);
  ASSERT_EQ(same.size(), 1U);
  EXPECT_EQ(same[0].message,
            "net.ipv4.tcp_tw_reuse is 0 now but both loaders set 1 at boot (systemd-sysctl: "
            "/etc/sysctl.d/50-a.conf:1; sysctl --system: /etc/sysctl.conf:1)");
}

} // namespace
} // namespace tw::sysctld
