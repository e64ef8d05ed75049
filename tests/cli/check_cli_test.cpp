// `tw-advisor check` as configuration management runs it: the real binary against fixture trees
// (--root), a recorded /proc (--proc: sysctls, and LISTEN sockets on 40010 and [::]:8080), and the
// proposed files in tests/data/sysctld/check/files. Every exit code and every finding id.
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

fs::path data()
{
  return fs::path(required_env("TW_TEST_DATA")) / "sysctld";
}

std::string file(const std::string& name)
{
  return (data() / "check" / "files" / name).string();
}

std::string tree(const std::string& name)
{
  return (data() / "trees" / name).string();
}

class CheckCli : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_empty = fs::temp_directory_path() / ("tw-check-cli-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_empty);
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_empty, ec);
  }

  // Runs `tw-advisor check ARGS --proc <recorded> [--root <empty tree>]`, as uid/gid 65534 when
  // as_nobody (through setpriv when the test runs as root: root reads everything).
  RunResult check(std::vector<std::string> args, const std::string& root = {}, bool as_nobody = false)
  {
    std::vector<std::string> argv;
    if (as_nobody && ::geteuid() == 0) {
      argv = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups" };
    }
    argv.push_back(required_env("TW_ADVISOR_BIN"));
    argv.push_back("check");
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--proc");
    argv.push_back((data() / "check" / "proc").string());
    argv.push_back("--root");
    argv.push_back(root.empty() ? m_empty.string() : root);
    return run(argv);
  }

  fs::path m_empty;
};

bool has(const RunResult& r, const std::string& text)
{
  return r.out.find(text) != std::string::npos;
}

TEST_F(CheckCli, CleanFileExitsZero)
{
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("clean.conf") });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r, "check: OK, 0 warnings in /etc/sysctl.d/60-net.conf (root")) << r.out;
}

// A CI runner checks a file for another machine: that machine's keys (its `sysctl -a`) and
// listening ports decide, not the runner's; every line names the destination, not the temp copy.
TEST_F(CheckCli, AnotherMachinesKernelFromItsSysctlA)
{
  const fs::path target = m_empty / "target.sysctl";
  std::ofstream(target) << "net.ipv4.tcp_timestamps = 1\n"
                           "net.ipv4.tcp_tw_reuse = 2\n"
                           "net.ipv4.ip_local_port_range = 32768\t60999\n"
                           "net.ipv4.ip_local_reserved_ports = \n"
                           "net.ipv4.conf.eth0.rp_filter = 1\n"
                           "net.ipv4.tcp_only_on_target = 1\n";
  const fs::path proposed = m_empty / "ansible.tmp";
  std::ofstream(proposed) << "net.ipv4.tcp_tw_reuse = 1\n"
                             "net.ipv4.tcp_only_on_target = 0\n"
                             "net.ipv4.tcp_tw_recycle = 1\n"
                             "net.ipv4.ip_local_port_range = 40000 40999\n"
                             "net.ipv4.conf.*.rp_filter = 2\n";
  const std::string dest = "/etc/sysctl.d/60-net.conf";
  const auto r =
    check({ "--kernel", target.string(), "--listening", "22,40080", "--dest", dest, proposed.string() });
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  // tcp_tw_recycle is not in the target's kernel; tcp_only_on_target is, whatever this host has.
  EXPECT_TRUE(has(r, dest + ":3: error: net.ipv4.tcp_tw_recycle")) << r.out;
  EXPECT_FALSE(has(r, "tcp_only_on_target: this kernel has no such key")) << r.out;
  // The target listens on 40080, inside the proposed range.
  EXPECT_TRUE(has(r, "[port-range-covers-listener]")) << r.out;
  EXPECT_EQ(r.out.find(proposed.string()), std::string::npos) << "the temp file is named: " << r.out;

  // Without --listening the port check says it could not be made.
  const auto unknown = check({ "--kernel", target.string(), "--dest", dest, proposed.string() });
  EXPECT_TRUE(has(unknown, "listening ports unknown")) << unknown.out;
  EXPECT_FALSE(has(unknown, "[port-range-covers-listener]")) << unknown.out;

  // Input errors name the file and line, or the option.
  const fs::path bad = m_empty / "bad.sysctl";
  std::ofstream(bad) << "net.ipv4.tcp_tw_reuse = 2\nnot a sysctl line\n";
  const auto b = check({ "--kernel", bad.string(), proposed.string() });
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_NE(b.err.find(bad.string() + ":2:"), std::string::npos) << b.err;
  const auto p = check({ "--kernel", target.string(), "--listening", "22,http", proposed.string() });
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.err.find("--listening 22,http"), std::string::npos) << p.err;
  const auto alone = check({ "--listening", "22", proposed.string() });
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE(alone.err.find("only with --kernel"), std::string::npos) << alone.err;
}

TEST_F(CheckCli, UnreadableFileExitsOneNamingIt)
{
  const auto missing = (m_empty / "missing.conf").string();
  const auto r = check({ missing });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  const auto dir = check({ m_empty.string() });
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_NE(dir.err.find("is a directory"), std::string::npos) << dir.err;
}

TEST_F(CheckCli, UsageErrorsExitOne)
{
  const auto two = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("clean.conf"), file("reuse2.conf") });
  EXPECT_EQ(two.exit_code, 1);
  EXPECT_NE(two.err.find("--dest"), std::string::npos) << two.err;
  EXPECT_EQ(check({ "--format", "yaml", file("clean.conf") }).exit_code, 1);
  EXPECT_EQ(check({ "--dest", "etc/sysctl.d/x.conf", file("clean.conf") }).exit_code, 1);
  EXPECT_EQ(check({}).exit_code, 1);
}

TEST_F(CheckCli, SyntaxErrorNamesFileAndLine)
{
  const auto r = check({ file("syntax.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r, file("syntax.conf") + ":2: error:")) << r.out;
  EXPECT_TRUE(has(r, "[not-assignment]")) << r.out;
  EXPECT_TRUE(has(r, "note: " + file("syntax.conf") + " is checked as /etc/sysctl.d/syntax.conf")) << r.out;
}

TEST_F(CheckCli, TwRecycleIsAViolationWithTheReason)
{
  const auto r = check({ file("recycle.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r, file("recycle.conf") + ":2: error: net.ipv4.tcp_tw_recycle was removed in Linux 4.12"))
    << r.out;
  EXPECT_TRUE(has(r, "NAT")) << r.out;
  EXPECT_TRUE(has(r, "[tw-recycle]")) << r.out;
}

TEST_F(CheckCli, KeysThisKernelLacks)
{
  const auto r = check({ file("unknown.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
    has(r, file("unknown.conf") + ":1: error: net.ipv4.tcp_no_such_key: this kernel has no such key"))
    << r.out;
  EXPECT_TRUE(has(r, file("unknown.conf") + ":2: warning: net.ipv4.tcp_other_missing")) << r.out;
  // With '-' the loader ignores the failure, and a missing interface may appear later: warnings.
  const auto ok = check({ file("unknown-ignored.conf") });
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(has(ok, "[unknown-key]")) << ok.out;
  EXPECT_TRUE(has(ok, "[unknown-interface]")) << ok.out;
}

TEST_F(CheckCli, ValueOutsideTheKernelRange)
{
  const auto r = check({ file("range.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
    has(r, file("range.conf") + ":1: error: net.ipv4.tcp_tw_reuse = 3 is outside the kernel range 0..2"))
    << r.out;
}

TEST_F(CheckCli, ReuseWithTimestampsOffAndTimestampsOffAtAll)
{
  const auto r = check({ file("reuse-no-ts.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r, file("reuse-no-ts.conf") + ":1: error: tcp_tw_reuse = 1")) << r.out;
  EXPECT_TRUE(has(r, "[reuse-without-timestamps]")) << r.out;
  EXPECT_TRUE(has(r, file("reuse-no-ts.conf") + ":2: error: net.ipv4.tcp_timestamps = 0")) << r.out;
  EXPECT_TRUE(has(r, "[timestamps-off]")) << r.out;
}

TEST_F(CheckCli, PortRangeInvertedNarrowAndCoveringAListener)
{
  const auto inv = check({ file("inverted.conf") });
  EXPECT_EQ(inv.exit_code, 2);
  EXPECT_TRUE(has(inv, file("inverted.conf") + ":1: error:")) << inv.out;
  EXPECT_TRUE(has(inv, "[port-range-inverted]")) << inv.out;

  const auto narrow = check({ file("narrow.conf") });
  EXPECT_EQ(narrow.exit_code, 2);
  EXPECT_TRUE(has(narrow, "holds only 201 ports")) << narrow.out;
  EXPECT_TRUE(has(narrow, "[port-range-narrow]")) << narrow.out;

  const auto cover = check({ file("covers-listener.conf") });
  EXPECT_EQ(cover.exit_code, 2);
  EXPECT_TRUE(has(cover, file("covers-listener.conf") + ":1: error:")) << cover.out;
  EXPECT_TRUE(has(cover, "listens on now: 40010.")) << cover.out; // 8080 is outside the range
  EXPECT_TRUE(has(cover, "[port-range-covers-listener]")) << cover.out;
}

TEST_F(CheckCli, ReservedPortsProtectListenersButNotOutsideTheRange)
{
  const auto r = check({ file("covers-reserved.conf") });
  EXPECT_FALSE(has(r, "[port-range-covers-listener]")) << r.out;
  const auto out = check({ file("reserved-outside.conf") });
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(
    has(out, file("reserved-outside.conf") + ":1: error: ip_local_reserved_ports 20000-20010 lie outside"))
    << out.out;
}

TEST_F(CheckCli, OverriddenAtBootNamesTheWinningFileAndLine)
{
  // Under systemd 99-zz-tuning.conf sorts later; under procps /etc/sysctl.conf is applied last.
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") }, tree("sysctl-conf"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
    has(r,
        "overridden at boot by /etc/sysctl.d/99-zz-tuning.conf:1 (net.ipv4.tcp_tw_reuse = 1) (under "
        "systemd-sysctl)"))
    << r.out;
  EXPECT_TRUE(
    has(r, "overridden at boot by /etc/sysctl.conf:2 (net.ipv4.tcp_tw_reuse = 0) (under sysctl --system)"))
    << r.out;
}

TEST_F(CheckCli, MaskedByASameNamedFileHigherUp)
{
  const auto r = check({ "--dest", "/usr/lib/sysctl.d/60-gone.conf", file("clean.conf") }, tree("mask"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r, "is never read: /etc/sysctl.d/60-gone.conf (empty, or a link to /dev/null)")) << r.out;
  EXPECT_TRUE(has(r, "[file-masked]")) << r.out;
}

TEST_F(CheckCli, SilentlyOverridingAnotherFileIsAWarning)
{
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("buckets.conf") }, tree("order"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(
    has(r, "overrides net.ipv4.tcp_max_tw_buckets = 5000 set at /usr/lib/sysctl.d/20-vendor.conf:3"))
    << r.out;
  // Replacing a same-named lower file is named too.
  const auto masks = check({ "--dest", "/etc/sysctl.d/20-vendor.conf", file("buckets.conf") }, tree("order"));
  EXPECT_TRUE(has(masks, "replaces /usr/lib/sysctl.d/20-vendor.conf entirely")) << masks.out;
}

TEST_F(CheckCli, FileNotReadByAnyLoader)
{
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net", file("clean.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r, "[not-loaded]")) << r.out;
}

TEST_F(CheckCli, TrailingCommentIsAWarning)
{
  const auto r = check({ file("trailing.conf") });
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r, file("trailing.conf") + ":1: warning:")) << r.out;
  EXPECT_TRUE(has(r, "[trailing-comment]")) << r.out;
}

TEST_F(CheckCli, ProblemsTheHostAlreadyHasAreWarnings)
{
  fs::create_directories(m_empty / "etc/sysctl.d");
  std::ofstream(m_empty / "etc/sysctl.d/10-old.conf") << "net.ipv4.tcp_timestamps = 0\n";
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("buckets.conf") });
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r, "/etc/sysctl.d/10-old.conf:1: warning: tcp_timestamps = 0 at boot")) << r.out;
  // The same file proposing tw_reuse makes it this file's problem.
  const auto bad = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") });
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  // Named by where it goes (--dest), not by the temporary copy.
  EXPECT_TRUE(has(bad, "/etc/sysctl.d/60-net.conf:1: error: tcp_tw_reuse = 2")) << bad.out;
  EXPECT_FALSE(has(bad, file("reuse2.conf"))) << bad.out;
}

TEST_F(CheckCli, FileInsideTheRootNeedsNoDest)
{
  fs::create_directories(m_empty / "etc/sysctl.d");
  fs::copy_file(file("clean.conf"), m_empty / "etc/sysctl.d/60-net.conf");
  const auto r = check({ (m_empty / "etc/sysctl.d/60-net.conf").string() });
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(has(r, "note:")) << r.out;
  EXPECT_TRUE(has(r, "-> /etc/sysctl.d/60-net.conf")) << r.out;
}

TEST_F(CheckCli, JsonListsEveryFindingWithItsFields)
{
  const auto r = check({ "--format", "json", file("reuse-no-ts.conf") });
  EXPECT_EQ(r.exit_code, 2);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("schema_version"), 2);
  EXPECT_TRUE(j.at("errors").empty()) << r.out;
  EXPECT_EQ(j.at("error_count"), j.at("findings").size() - j.at("warnings").get<std::size_t>());
  EXPECT_EQ(j.at("exit_code"), 2);
  ASSERT_GE(j.at("findings").size(), 2U);
  bool saw = false;
  for (const auto& f : j.at("findings")) {
    for (const char* field : { "id", "severity", "file", "line", "key", "message" }) {
      EXPECT_TRUE(f.contains(field)) << field;
    }
    if (f.at("id") == "timestamps-off") {
      saw = true;
      EXPECT_EQ(f.at("severity"), "error");
      EXPECT_EQ(f.at("file"), file("reuse-no-ts.conf"));
      EXPECT_EQ(f.at("line"), 2);
      EXPECT_EQ(f.at("key"), "net.ipv4.tcp_timestamps");
    }
  }
  EXPECT_TRUE(saw) << r.out;
  const auto clean = check({ "--format", "json", "--dest", "/etc/sysctl.d/60-net.conf", file("clean.conf") });
  EXPECT_EQ(clean.exit_code, 0);
  const auto clean_doc = nlohmann::json::parse(clean.out);
  EXPECT_TRUE(clean_doc.at("findings").empty()) << clean.out;
  // The file read (Ansible's temporary copy) and where it goes are both in files[].
  EXPECT_EQ(clean_doc.at("files")[0].at("file"), file("clean.conf")) << clean.out;
  EXPECT_EQ(clean_doc.at("files")[0].at("dest"), "/etc/sysctl.d/60-net.conf") << clean.out;
}

TEST_F(CheckCli, ValuesOutsideThePolicyGuardrails)
{
  // The default policy allows tcp_tw_reuse 0..2; this site policy only 0..1.
  EXPECT_EQ(check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") }).exit_code, 0);
  const auto policy = (data() / "check" / "strict-policy.yaml").string();
  const auto r = check({ "--policy", policy, "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") });
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(has(r,
                  "/etc/sysctl.d/60-net.conf:1: error: net.ipv4.tcp_tw_reuse = 2 is outside the policy's "
                  "allow-tw-reuse range 0..1 [policy-range]"))
    << r.out;
  // A range narrower than the policy's narrow_port_range (10000) but not absurd is a warning.
  const auto narrowish = check({ file("range-5001.conf") });
  EXPECT_EQ(narrowish.exit_code, 0) << narrowish.out;
  EXPECT_TRUE(has(narrowish, "[port-range-below-policy]")) << narrowish.out;
  // A policy that does not load is an input error.
  std::ofstream(m_empty / "bad.yaml") << "guardrails: 3\n";
  const auto bad = check({ "--policy", (m_empty / "bad.yaml").string(), file("clean.conf") });
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.yaml"), std::string::npos) << bad.err;
}

TEST_F(CheckCli, HelpTeachesTheAnsibleHook)
{
  const auto r = run({ required_env("TW_ADVISOR_BIN"), "check", "--help" });
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("validate='tw-advisor check --dest /etc/sysctl.d/60-net.conf %s'"), std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("Exit codes: 0 clean"), std::string::npos) << r.out;
}

// Writes name under the per-test root with content (directories made as needed).
void put(const fs::path& root, const std::string& name, const std::string& content)
{
  const auto path = root / fs::path(name).relative_path();
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

TEST_F(CheckCli, UnreadableConfigDirOrFileIsAnInputErrorNotOk)
{
  // What root sees: /run/sysctl.d/99-z.conf overrides the proposed file.
  put(m_empty, "/run/sysctl.d/99-z.conf", "net.ipv4.tcp_tw_reuse = 0\n");
  const auto as_root = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") });
  ASSERT_EQ(as_root.exit_code, 2) << as_root.out << as_root.err;
  ASSERT_TRUE(has(as_root, "overridden at boot by /run/sysctl.d/99-z.conf:1")) << as_root.out;

  // A directory nobody may list, then a file nobody may read: never "OK".
  fs::permissions(m_empty / "run/sysctl.d", fs::perms::owner_all);
  const auto dir = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") }, {}, true);
  EXPECT_EQ(dir.exit_code, 1) << dir.out << dir.err;
  EXPECT_NE(dir.err.find("tw-advisor: error: /run/sysctl.d (" + (m_empty / "run/sysctl.d").string() +
                         "): Permission denied"),
            std::string::npos)
    << dir.err;
  EXPECT_TRUE(has(dir, "check: INCOMPLETE: 1 configuration path the")) << dir.out;
  EXPECT_FALSE(has(dir, "check: OK")) << dir.out;
  const auto dir_json =
    check({ "--format", "json", "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") }, {}, true);
  EXPECT_EQ(dir_json.exit_code, 1) << dir_json.err;
  const auto j = nlohmann::json::parse(dir_json.out);
  EXPECT_EQ(j.at("exit_code"), 1);
  EXPECT_EQ(j.at("complete"), false);
  ASSERT_EQ(j.at("errors").size(), 1U) << dir_json.out;
  EXPECT_EQ(j.at("errors")[0].at("path"), "/run/sysctl.d (" + (m_empty / "run/sysctl.d").string() + ")");
  EXPECT_NE(j.at("errors")[0].at("cause").get<std::string>().find("Permission denied"), std::string::npos);

  fs::permissions(m_empty / "run/sysctl.d",
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                    fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(m_empty / "run/sysctl.d/99-z.conf", fs::perms::owner_read | fs::perms::owner_write);
  const auto f = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") }, {}, true);
  EXPECT_EQ(f.exit_code, 1) << f.out << f.err;
  EXPECT_NE(f.err.find("/run/sysctl.d/99-z.conf (" + (m_empty / "run/sysctl.d/99-z.conf").string() +
                       "): Permission denied"),
            std::string::npos)
    << f.err;
  // The same user with everything readable gets the real answer.
  fs::permissions(m_empty / "run/sysctl.d/99-z.conf", fs::perms::others_read, fs::perm_options::add);
  const auto ok = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") }, {}, true);
  EXPECT_EQ(ok.exit_code, 2) << ok.out << ok.err;
  EXPECT_TRUE(has(ok, "overridden at boot by /run/sysctl.d/99-z.conf:1")) << ok.out;
}

TEST_F(CheckCli, JsonInputErrorsStillPrintOneObject)
{
  const auto missing = (m_empty / "nonexistent.conf").string();
  const auto r = check({ "--format", "json", missing });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tw-advisor: error: " + missing), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("exit_code"), 1);
  EXPECT_TRUE(j.at("findings").empty());
  ASSERT_EQ(j.at("errors").size(), 1U) << r.out;
  EXPECT_EQ(j.at("errors")[0].at("path"), missing);
  EXPECT_NE(j.at("errors")[0].at("cause").get<std::string>().find("No such file or directory"),
            std::string::npos)
    << r.out;
  // The same keys as a full report, so a consumer reading error_count or files never breaks.
  const auto full = check({ "--format", "json", file("reuse2.conf") });
  const auto f = nlohmann::json::parse(full.out);
  std::vector<std::string> want;
  std::vector<std::string> got;
  for (const auto& [key, value] : f.items()) {
    want.push_back(key);
  }
  for (const auto& [key, value] : j.items()) {
    got.push_back(key);
  }
  EXPECT_EQ(got, want) << r.out;
  EXPECT_EQ(j.at("error_count"), 0);
  ASSERT_EQ(j.at("files").size(), 1U);
  EXPECT_EQ(j.at("files")[0].at("file"), missing);
}

TEST_F(CheckCli, EachLoadersNotLoadedMessageSaysOnlyWhatIsTrueForIt)
{
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net", file("clean.conf") });
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
    has(r,
        "whose names do not start with '.' in /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d "
        "and /usr/lib/sysctl.d (/etc/sysctl.conf only through a link such as "
        "/etc/sysctl.d/99-sysctl.conf) (under systemd-sysctl)"))
    << r.out;
  EXPECT_TRUE(has(r,
                  "*.conf files (hidden ones too) in /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, "
                  "/usr/lib/sysctl.d and /lib/sysctl.d, then /etc/sysctl.conf (under sysctl --system)"))
    << r.out;
  EXPECT_FALSE(has(r, "for systemd")) << r.out;
}

TEST_F(CheckCli, SameValueSetElsewhereExplainsWhichLineApplies)
{
  put(m_empty, "/etc/sysctl.d/50-x.conf", "net.ipv4.tcp_tw_reuse = 2\n");
  put(m_empty, "/etc/sysctl.d/70-y.conf", "net.ipv4.tcp_tw_reuse = 2\n");
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", file("reuse2.conf") });
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // systemd keeps the first of equal assignments; procps writes every line, so the last decides.
  EXPECT_TRUE(has(r,
                  "is not the line that sets it at boot: /etc/sysctl.d/50-x.conf:1 sets the same value "
                  "earlier, and systemd-sysctl keeps the first of equal assignments"))
    << r.out;
  EXPECT_TRUE(has(r, "/etc/sysctl.d/70-y.conf:1 sets the same value and is applied after this line"))
    << r.out;
  EXPECT_TRUE(has(r, "[overridden-same]")) << r.out;
}

TEST_F(CheckCli, NonUtf8BytesAreEscapedInTextAndJson)
{
  const auto bad = (m_empty / "bin.conf").string();
  std::ofstream(bad, std::ios::binary)
    << std::string("\xff\xfe bin\x00\n", 9) << "net.ipv4.tcp_tw_reuse = 2\n"
    << "# caf\xc3\xa9 is valid UTF-8\n";
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", bad });
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(has(r, "\\xff\\xfe bin\\x00")) << r.out;
  EXPECT_EQ(r.out.find('\xff'), std::string::npos) << r.out;
  const auto j = check({ "--format", "json", "--dest", "/etc/sysctl.d/60-net.conf", bad });
  EXPECT_EQ(j.exit_code, 2) << j.err;
  const auto doc = nlohmann::json::parse(j.out); // throws on invalid UTF-8
  EXPECT_NE(doc.dump().find("\\\\xff\\\\xfe bin\\\\x00"), std::string::npos) << j.out;
}

TEST_F(CheckCli, GlobBeatenByAnExplicitKeyIsAWarning)
{
  put(m_empty, "/usr/lib/sysctl.d/10-vendor.conf", "net.ipv4.conf.all.rp_filter = 2\n");
  const auto glob = (m_empty / "glob.conf").string();
  std::ofstream(glob) << "net.ipv4.conf.*.rp_filter = 1\n";
  const auto r = check({ "--dest", "/etc/sysctl.d/60-net.conf", glob });
  EXPECT_TRUE(has(r,
                  "/etc/sysctl.d/60-net.conf:1: warning: net.ipv4.conf.*.rp_filter = 1 does not set 1 key(s) "
                  "it matches, "
                  "because an explicit key line beats any glob whatever the file order: "
                  "net.ipv4.conf.all.rp_filter = 2 at /usr/lib/sysctl.d/10-vendor.conf:1"))
    << r.out;
  EXPECT_TRUE(has(r, "[glob-overridden]")) << r.out;
}

} // namespace
} // namespace tw::test
