// Runs the real loaders (procps `sysctl --system`, systemd-sysctl) over each fixture tree in
// tests/data/sysctld and compares what they did with what the resolver predicted.
//
// Safety: each run happens inside `unshare --mount --net`: a new network namespace (net.* keys
// written there never reach the host's) and a new mount namespace in which every directory the
// loaders read (/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d,
// /lib/sysctl.d) and /etc/sysctl.conf are covered by the fixture copy or an empty stand-in, so
// the host's own kernel.*, fs.* ... settings are never read. Before anything runs, the test checks
// that every line of the fixture sets a net.* key and that every link stays in the covered paths;
// with strace installed it also traces a dry run of each loader and checks which paths it opened.
#include "support/netns.hpp"
#include "support/process.hpp"
#include "sysctld/resolver.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;
using sysctld::Loader;

std::atomic<int> g_run{ 0 };

// Directories and the file the loaders read; the namespace covers each of them.
const std::vector<std::string> k_covered_dirs = {
  "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d",
};
const std::string k_sysctl_conf = "/etc/sysctl.conf";

std::string shell_quote(const std::string& s)
{
  std::string out = "'";
  for (const char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

bool host_lib_is_usr_lib()
{
  std::error_code ec;
  return fs::is_symlink("/lib", ec) && fs::equivalent("/lib", "/usr/lib", ec);
}

std::string systemd_sysctl_path()
{
  for (const char* p : { "/lib/systemd/systemd-sysctl", "/usr/lib/systemd/systemd-sysctl" }) {
    if (::access(p, X_OK) == 0) {
      return p;
    }
  }
  return {};
}

bool have(const std::string& tool)
{
  return run({ "sh", "-c", "command -v " + tool }).exit_code == 0;
}

// "/proc/sys/net/ipv4/conf/tw.0/rp_filter:2" lines (grep -r) into canonical key -> value.
std::map<std::string, std::string> parse_dump(const std::string& text)
{
  std::map<std::string, std::string> out;
  for (const auto line : split(text, '\n')) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || line.substr(0, 10) != "/proc/sys/") {
      continue;
    }
    const auto key = sysctld::normalize_key(std::string("/") + std::string(line.substr(10, colon - 10)));
    if (!key.key) {
      continue;
    }
    auto& v = out[*key.key];
    v = normalize_space(v + " " + std::string(line.substr(colon + 1)));
  }
  return out;
}

class SysctldLive : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_tmp = fs::temp_directory_path() /
            ("tw-sysctld-live-" + std::to_string(::getpid()) + "-" + std::to_string(g_run++));
    fs::create_directories(m_tmp / "empty");
    std::ofstream(m_tmp / "empty.conf").close();
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_tmp, ec);
  }

  // Copies a fixture to a temp root laid out like this host (/lib -> usr/lib when merged).
  fs::path stage(const std::string& name)
  {
    const auto src = fs::path(required_env("TW_TEST_DATA")) / "sysctld" / "trees" / name;
    const auto root = m_tmp / ("root-" + name);
    fs::copy(src, root, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    if (host_lib_is_usr_lib()) {
      // One directory on this host: fold the fixture's /lib/sysctl.d into /usr/lib/sysctl.d.
      if (fs::exists(root / "lib/sysctl.d")) {
        fs::create_directories(root / "usr/lib/sysctl.d");
        for (const auto& e : fs::directory_iterator(root / "lib/sysctl.d")) {
          const auto to = root / "usr/lib/sysctl.d" / e.path().filename();
          EXPECT_FALSE(fs::exists(to)) << name << ": " << e.path().filename() << " is in both lib dirs";
          fs::copy(e.path(), to, fs::copy_options::copy_symlinks);
        }
      }
      fs::remove_all(root / "lib");
      fs::create_directories(root / "usr/lib");
      fs::create_directory_symlink("usr/lib", root / "lib");
    }
    return root;
  }

  // The guard: every setting in the tree is a net.* key, and every link stays inside what the
  // namespace covers. Returns false (with a test failure) when the tree must not be run.
  bool verify_net_only(const fs::path& root)
  {
    bool ok = true;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      const auto& path = it->path();
      if (fs::is_symlink(path)) {
        const auto target = fs::read_symlink(path);
        const auto abs =
          target.is_absolute()
            ? target
            : (fs::path("/") / fs::relative(path.parent_path(), root) / target).lexically_normal();
        const auto s = abs.string();
        const bool inside = s == "/dev/null" || s == k_sysctl_conf || s == "/usr/lib" ||
                            std::any_of(k_covered_dirs.begin(),
                                        k_covered_dirs.end(),
                                        [&](const std::string& d) { return s.rfind(d + "/", 0) == 0; });
        if (!inside) {
          ADD_FAILURE() << path << " links to " << target << ", outside the covered directories";
          ok = false;
        }
        continue;
      }
      if (!fs::is_regular_file(path)) {
        continue;
      }
      const auto text = read_file_or_throw(path);
      const auto parsed = sysctld::parse_sysctl_conf(text, path.string());
      for (const auto& e : parsed.entries) {
        const auto first = e.key.substr(0, e.key.find('.'));
        if (first != "net") {
          ADD_FAILURE() << path << ":" << e.line << ": " << e.key << " is not a net.* key";
          ok = false;
        }
      }
      for (const auto& p : parsed.problems) {
        if (p.id == "not-assignment" || p.id == "bad-key" || p.id == "empty-key" || p.id == "dash-space") {
          ADD_FAILURE() << p.file << ":" << p.line << ": " << p.message << " (the guard cannot vouch for it)";
          ok = false;
        }
      }
    }
    return ok;
  }

  // The shell run inside the new namespaces: cover every directory, make tw.0, dump, load, dump.
  std::string script(const fs::path& root, const std::string& loader_cmd, const std::string& dry_cmd)
  {
    std::string s = "set -eu\n";
    for (const auto& dir : k_covered_dirs) {
      const auto from = fs::is_directory(root / fs::path(dir).relative_path())
                          ? root / fs::path(dir).relative_path()
                          : m_tmp / "empty";
      // A directory the host lacks gets a tmpfs on its nearest existing parent (this namespace only).
      s +=
        "d=" + shell_quote(dir) +
        "\n"
        "if [ ! -d \"$d\" ]; then p=$(dirname \"$d\"); while [ ! -d \"$p\" ]; do p=$(dirname \"$p\"); done;"
        " mount -t tmpfs tw-sysctld \"$p\"; mkdir -p \"$d\"; fi\n"
        "mount --bind " +
        shell_quote(from.string()) + " \"$d\"\n";
    }
    const auto conf = root / "etc/sysctl.conf";
    const bool fixture_conf = fs::is_regular_file(conf);
    s += "if [ -e /etc/sysctl.conf ]; then mount --bind " +
         shell_quote((fixture_conf ? conf : m_tmp / "empty.conf").string()) + " /etc/sysctl.conf; elif [ " +
         (fixture_conf ? "1" : "0") +
         " = 1 ]; then echo 'host has no /etc/sysctl.conf to cover' >&2; exit 97; fi\n";
    s += "ip link set lo up\nip link add tw.0 type veth peer name tw.1\n";
    if (!dry_cmd.empty()) {
      s += "strace -f -qq -e trace=%file -o " + shell_quote((m_tmp / "trace").string()) + " " + dry_cmd +
           " >/dev/null 2>&1 || true\n";
    }
    s += "echo '@@before'\ngrep -rs '' /proc/sys/net || true\n";
    s += loader_cmd + " >/dev/null 2>&1 || true\n";
    s += "echo '@@after'\ngrep -rs '' /proc/sys/net || true\n";
    return s;
  }

  // Paths the traced dry run opened or stat()ed that name sysctl configuration outside the covered set.
  std::vector<std::string> uncovered_reads()
  {
    std::vector<std::string> out;
    const auto trace = read_file(m_tmp / "trace");
    if (!trace) {
      out.push_back("(no strace output)");
      return out;
    }
    for (const auto line : split(*trace, '\n')) {
      const auto q1 = line.find('"');
      const auto q2 = q1 == std::string_view::npos ? q1 : line.find('"', q1 + 1);
      if (q2 == std::string_view::npos) {
        continue;
      }
      const std::string path(line.substr(q1 + 1, q2 - q1 - 1));
      // Relative names are steps of a directory walk (systemd's chase()); the files it then opens
      // are named by absolute path.
      if (path.empty() || path.front() != '/' || path.find("sysctl") == std::string::npos ||
          path.find(".so") != std::string::npos || path.rfind("/proc/sys", 0) == 0 ||
          path.find("/sbin/sysctl") != std::string::npos ||
          path.find("systemd-sysctl") != std::string::npos) {
        continue;
      }
      const bool covered =
        path == k_sysctl_conf ||
        std::any_of(k_covered_dirs.begin(), k_covered_dirs.end(), [&](const std::string& d) {
          return path == d || path.rfind(d + "/", 0) == 0;
        });
      if (!covered) {
        out.push_back(path);
      }
    }
    return out;
  }

  void check_fixture(const std::string& name)
  {
    SCOPED_TRACE("fixture " + name);
    const auto root = stage(name);
    ASSERT_TRUE(verify_net_only(root)) << "refusing to run the loaders on " << name;
    struct Case
    {
      Loader loader;
      std::string cmd;
      std::string dry;
    };
    std::vector<Case> cases;
    cases.push_back({ Loader::procps, "sysctl --system", "sysctl --system --dry-run" });
    const auto sd = systemd_sysctl_path();
    if (!sd.empty()) {
      cases.push_back({ Loader::systemd, sd, sd + " --cat-config --no-pager" });
    }
    const bool traced = have("strace");
    for (const auto& c : cases) {
      SCOPED_TRACE(to_string(c.loader));
      const auto r = run({ "unshare",
                           "--mount",
                           "--net",
                           "--propagation",
                           "private",
                           "sh",
                           "-c",
                           script(root, c.cmd, traced ? c.dry : "") },
                         {},
                         {},
                         std::chrono::seconds(60));
      if (r.exit_code == 97) {
        GTEST_SKIP() << r.err;
      }
      ASSERT_EQ(r.exit_code, 0) << r.err;
      if (traced) {
        EXPECT_EQ(uncovered_reads(), std::vector<std::string>{})
          << "the loader read configuration outside the fixture";
      }
      const auto at = r.out.find("@@after");
      ASSERT_NE(at, std::string::npos) << r.out.substr(0, 2000);
      const auto before = parse_dump(r.out.substr(0, at));
      const auto after = parse_dump(r.out.substr(at));
      ASSERT_GT(after.size(), 100U) << "the /proc/sys/net dump looks empty";
      ASSERT_TRUE(after.count("net.ipv4.conf.tw/0.rp_filter")) << "no tw.0 interface in the namespace";

      const auto res = sysctld::resolve(root, c.loader);
      std::size_t predicted_changes = 0;
      for (const auto& [key, value] : after) {
        const auto o = res.outcome(key);
        const auto it = before.find(key);
        const std::string old = it == before.end() ? "" : it->second;
        if (o.winner && o.winner->value) {
          ++predicted_changes;
          EXPECT_TRUE(same_sysctl_value(value, *o.winner->value))
            << key << ": the loader left " << value << ", the resolver predicted " << *o.winner->value
            << " from " << o.winner->file << ":" << o.winner->line;
        } else {
          EXPECT_EQ(value, old) << key << " changed from " << old << " to " << value
                                << " but the resolver predicted no file sets it";
        }
      }
      EXPECT_GT(predicted_changes, 0U) << "the fixture sets nothing testable";
    }
  }

  fs::path m_tmp;
};

TEST_F(SysctldLive, ResolverMatchesTheRealLoadersOnEveryFixture)
{
  TW_REQUIRE_NETNS();
  if (!have("unshare") || !have("sysctl") || !have("mount")) {
    GTEST_SKIP() << "needs unshare, mount and procps sysctl";
  }
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(fs::path(required_env("TW_TEST_DATA")) / "sysctld" / "trees")) {
    if (e.is_directory()) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  ASSERT_GE(names.size(), 10U);
  for (const auto& name : names) {
    check_fixture(name);
  }
}

TEST_F(SysctldLive, CheckSeesARealListenerThroughSockDiag)
{
  // No --proc: check reads the LISTEN sockets of its network namespace over NETLINK_SOCK_DIAG.
  // The namespace is a fresh `unshare --net` (tests/support's Netns cannot be made here, see the
  // report), with a real listener from tw-loadgen on [::]:45123.
  TW_REQUIRE_NETNS();
  const auto root = m_tmp / "root";
  fs::create_directories(root);
  const auto covers = m_tmp / "covers.conf";
  const auto clear = m_tmp / "clear.conf";
  std::ofstream(covers) << "net.ipv4.ip_local_port_range = 40000 50000\n";
  std::ofstream(clear) << "net.ipv4.ip_local_port_range = 46000 60999\n";
  const auto check = shell_quote(required_env("TW_ADVISOR_BIN")) + " check --root " +
                     shell_quote(root.string()) + " --dest /etc/sysctl.d/60-net.conf ";
  const std::string script =
    "set -u\nip link set lo up\n" + shell_quote(required_env("TW_LOADGEN_BIN")) +
    " server --bind :: --port 45123 --timeout-ms 30000 > " + shell_quote((m_tmp / "server.out").string()) +
    " &\npid=$!\ni=0\nuntil grep -q ready " + shell_quote((m_tmp / "server.out").string()) +
    "; do i=$((i+1)); [ $i -gt 100 ] && { kill $pid; exit 98; }; sleep 0.1; done\n" + check +
    shell_quote(covers.string()) + "; echo \"@@rc1=$?\"\n" + check + shell_quote(clear.string()) +
    "; echo \"@@rc2=$?\"\nkill $pid; wait $pid 2>/dev/null\nexit 0\n";
  const auto r = run({ "unshare", "--net", "sh", "-c", script }, {}, {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("@@rc1=2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/etc/sysctl.d/60-net.conf"
                       ":1: error: ip_local_port_range = 40000 50000 covers port(s) something "
                       "listens on now: 45123."),
            std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("@@rc2=0"), std::string::npos) << r.out;
}

TEST_F(SysctldLive, GuardRefusesATreeWithANonNetKey)
{
  // The guard itself must be able to fail: a kernel.* key is caught before anything runs.
  const auto root = m_tmp / "bad";
  fs::create_directories(root / "etc/sysctl.d");
  std::ofstream(root / "etc/sysctl.d/10-bad.conf") << "net.ipv4.tcp_tw_reuse = 1\nkernel.pid_max = 4194304\n";
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    EXPECT_FALSE(verify_net_only(root));
  }
  ASSERT_EQ(failures.size(), 1);
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("kernel.pid_max"), std::string::npos);
}

} // namespace
} // namespace tw::test
