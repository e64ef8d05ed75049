// The whole node against a real kernel: namespaces made here (named ones, and one held only by a
// process), real port pressure in two of them, and the real binary's --netns and --all-netns run
// from this (the host's) namespace. Other namespaces on the machine (other tests) are ignored:
// the assertions look only at the namespaces this test made, found by inode.
#include "support/netns.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tw::test {
namespace {

using nlohmann::json;

std::uint64_t inode_of(const std::string& path)
{
  struct stat st
  {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// The word after marker in text ("loaded 1234" -> "1234"); empty when there is none.
std::string word_after(const std::string& text, const std::string& marker)
{
  const auto at = text.find(marker);
  if (at == std::string::npos) {
    return {};
  }
  const std::string rest = text.substr(at + marker.size()); // owns what the views point into
  const auto words = split_ws(rest);
  return words.empty() ? std::string() : std::string(words.front());
}

const json* entry_for(const json& node, std::uint64_t inode)
{
  for (const auto& e : node.at("namespaces")) {
    if (e.at("netns").at("inode").get<std::uint64_t>() == inode) {
      return &e;
    }
  }
  return nullptr;
}

// A cgroup named like a container's (docker-ID.scope) in the cgroup2 hierarchy, holding pid:
// made for the test, removed after it (the process must have exited by then, or is moved out).
class FakeContainerCgroup
{
public:
  FakeContainerCgroup(const std::string& leaf, const std::string& pid)
  {
    const RunResult mount = run({ "awk", "$9 == \"cgroup2\" { print $5; exit }", "/proc/self/mountinfo" });
    const std::string root(trim(mount.out));
    if (root.empty()) {
      throw std::runtime_error("no cgroup2 hierarchy mounted");
    }
    m_parent = root + "/twa-test-" + std::to_string(::getpid());
    m_leaf = m_parent + "/" + leaf;
    std::filesystem::create_directories(m_leaf);
    std::ofstream(m_leaf + "/cgroup.procs") << pid << "\n";
    m_root = root;
    m_pid = pid;
  }
  ~FakeContainerCgroup()
  {
    // Move the process back to the root (it may be gone), then remove both directories.
    std::ofstream(m_root + "/cgroup.procs") << m_pid << "\n";
    std::error_code ec;
    std::filesystem::remove(m_leaf, ec);
    std::filesystem::remove(m_parent, ec);
  }
  FakeContainerCgroup(const FakeContainerCgroup&) = delete;
  FakeContainerCgroup& operator=(const FakeContainerCgroup&) = delete;

private:
  std::string m_root;
  std::string m_parent;
  std::string m_leaf;
  std::string m_pid;
};

class NetnsLiveTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    TW_REQUIRE_NETNS();
    m_advisor = required_env("TW_ADVISOR_BIN");
    m_loadgen = required_env("TW_LOADGEN_BIN");
  }

  // The shell that makes a namespace stuck: 1000 ports, tcp_tw_reuse 0, a loopback server, and a
  // client that closes first until connect() fails for lack of ports (1100 attempts).
  std::string stuck_script() const
  {
    return "ip link set lo up && sysctl -qw net.ipv4.ip_local_port_range='40000 40999' "
           "net.ipv4.tcp_tw_reuse=0 && { " +
           m_loadgen +
           " server --bind 127.0.0.1 --port 8080 --timeout-ms 170000 >/dev/null 2>&1 & } && sleep 0.3 && " +
           m_loadgen +
           " client --connect 127.0.0.1 --port 8080 --count 1100 --close-first --json --timeout-ms 60000"
           " >/dev/null";
  }

  RunResult advisor(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) const
  {
    std::vector<std::string> argv = { m_advisor };
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, env, {}, std::chrono::seconds(120));
  }

  std::string m_advisor;
  std::string m_loadgen;
};

TEST_F(NetnsLiveTest, AllNetnsFindsThePressureInANamedAndAProcessOnlyNamespace)
{
  // Pressure in a named namespace.
  Netns named("nnpress");
  const RunResult made = named.run({ "sh", "-c", stuck_script() }, {}, std::chrono::seconds(120));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  // Pressure in a namespace no name holds: only the process that made it (its pid names it).
  BackgroundProcess holder(
    { "unshare", "--net", "sh", "-c", stuck_script() + " && echo loaded $$ && exec sleep 170" });
  ASSERT_TRUE(holder.wait_for_output("loaded", std::chrono::seconds(90))) << holder.output();
  const std::string holder_pid = word_after(holder.output(), "loaded");
  ASSERT_FALSE(holder_pid.empty()) << holder.output();
  // A namespace whose only process sits in a container's cgroup (made here, in the cgroup2
  // hierarchy, and removed at the end): named as that container.
  BackgroundProcess boxed({ "unshare", "--net", "sh", "-c", "echo held $$ && exec sleep 170" });
  ASSERT_TRUE(boxed.wait_for_output("held", std::chrono::seconds(10))) << boxed.output();
  const std::string boxed_pid = word_after(boxed.output(), "held");
  ASSERT_FALSE(boxed_pid.empty()) << boxed.output();
  const std::string container_id(64, 'c');
  FakeContainerCgroup cgroup("docker-" + container_id + ".scope", boxed_pid);
  // Quiet namespaces judge as nothing to do: 20 namespaces with the host's.
  std::vector<std::unique_ptr<Netns>> quiet;
  quiet.reserve(16);
  for (int i = 0; i < 16; ++i) {
    quiet.push_back(std::make_unique<Netns>("nnquiet"));
  }

  const RunResult r = advisor({ "plan", "--all-netns", "--format", "json", "--detailed-exitcode" });
  ASSERT_EQ(r.exit_code, 2) << r.err; // changes proposed in at least one namespace
  const json node = json::parse(r.out);
  EXPECT_EQ(node.at("sockets_read").at("reader"), "bpf-walk") << "root: the one-pass walk ran";
  EXPECT_EQ(node.at("schema_version"), 2);
  EXPECT_EQ(node.at("kind"), "node-plan");

  const json* a = entry_for(node, inode_of(named.path()));
  ASSERT_NE(a, nullptr) << r.out.substr(0, 2000);
  EXPECT_EQ(a->at("netns").at("kind"), "named");
  EXPECT_EQ(a->at("netns").at("name"), named.name());
  EXPECT_EQ(a->at("plan").at("verdict"), "helps") << a->at("plan").at("reasons").dump();
  EXPECT_EQ(a->at("plan").at("facts").at("netns_kind"), "named");
  EXPECT_GT(a->at("netns").at("cookie").get<std::uint64_t>(), 0u);

  const json* b = entry_for(node, inode_of("/proc/" + holder_pid + "/ns/net"));
  ASSERT_NE(b, nullptr) << r.out.substr(0, 2000);
  EXPECT_EQ(b->at("netns").at("kind"), "process");
  EXPECT_EQ(b->at("netns").at("name"), "pid " + holder_pid + " (sleep)");
  EXPECT_EQ(b->at("plan").at("verdict"), "helps") << b->at("plan").at("reasons").dump();
  // Not the host's namespace: the plan says where to make it last instead of sysctl.d.
  EXPECT_NE(b->at("plan").at("advice").dump().find("persist-in-namespace"), std::string::npos);
  EXPECT_FALSE(b->at("plan").at("facts").contains("boot")) << "sysctl.d never reaches this namespace";

  const json* c = entry_for(node, inode_of("/proc/" + boxed_pid + "/ns/net"));
  ASSERT_NE(c, nullptr) << r.out.substr(0, 2000);
  EXPECT_EQ(c->at("netns").at("kind"), "container");
  EXPECT_EQ(c->at("netns").at("name"), "docker " + container_id.substr(0, 12));
  EXPECT_EQ(c->at("netns").at("container"), container_id);
  EXPECT_EQ(c->at("plan").at("verdict"), "irrelevant");

  for (const auto& q : quiet) {
    const json* e = entry_for(node, inode_of(q->path()));
    ASSERT_NE(e, nullptr) << q->name();
    EXPECT_EQ(e->at("plan").at("verdict"), "irrelevant") << q->name();
  }
  const json* host = entry_for(node, inode_of("/proc/self/ns/net"));
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->at("netns").at("kind"), "host");
  EXPECT_EQ(host->at("netns").at("name"), "host");
  EXPECT_EQ(node.at("namespaces").at(0).at("plan").at("verdict"), "helps") << "most urgent first";

  // The text: one line per namespace, the two stuck ones among the helps, and their full plans.
  const RunResult text = advisor({ "plan", "--all-netns" });
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("helps"), std::string::npos);
  EXPECT_NE(text.out.find("=== " + named.name() + " (named)"), std::string::npos) << text.out.substr(0, 3000);
  EXPECT_NE(text.out.find("=== pid " + holder_pid + " (sleep) (process)"), std::string::npos)
    << text.out.substr(0, 3000);
  // Its "Next:" commands reach the namespace again and change runtime values only there.
  EXPECT_NE(text.out.find("`tw-advisor apply --netns " + named.name() + " --no-persist --plan plan-" +
                          named.name() + ".json`"),
            std::string::npos)
    << text.out.substr(0, 3000);
  EXPECT_NE(text.out.find("`tw-advisor plan --netns " + holder_pid + " --out plan-" + holder_pid + ".json`"),
            std::string::npos)
    << "one file per namespace";

  // The census of every namespace puts the stuck ones first and shows their pressure.
  const RunResult census = advisor({ "census", "--all-netns", "--format", "json" });
  ASSERT_EQ(census.exit_code, 0) << census.err;
  const json counted = json::parse(census.out);
  EXPECT_EQ(counted.at("kind"), "node-census");
  const json* ca = entry_for(counted, inode_of(named.path()));
  ASSERT_NE(ca, nullptr);
  ASSERT_FALSE(ca->at("census").at("groups").empty()) << ca->dump().substr(0, 2000);
  EXPECT_GE(ca->at("census").at("groups").at(0).at("pressure").get<double>(), 0.95);

  // --netns PID judges that one namespace alone, named the same way.
  const RunResult one = advisor({ "plan", "--netns", holder_pid, "--format", "json" });
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const json p = json::parse(one.out);
  EXPECT_EQ(p.at("verdict"), "helps");
  EXPECT_EQ(p.at("facts").at("netns_kind"), "process");
  EXPECT_EQ(p.at("facts").at("netns").get<std::uint64_t>(), inode_of("/proc/" + holder_pid + "/ns/net"));
  const RunResult by_name = advisor({ "census", "--netns", named.name(), "--format", "json" });
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  const json alone = json::parse(by_name.out);
  ASSERT_FALSE(alone.at("groups").empty()) << by_name.out.substr(0, 2000);
  EXPECT_GE(alone.at("groups").at(0).at("pressure").get<double>(), 0.95);

  // A plan saved there and applied here is refused before anything is read or written, naming
  // that namespace and the options that apply it there.
  const std::filesystem::path dir =
    std::filesystem::temp_directory_path() / ("twa-netns-apply-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "root");
  const std::string saved = (dir / "plan.json").string();
  const RunResult out = advisor({ "plan", "--netns", named.name(), "--out", saved });
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::vector<std::string> apply = { "apply",       "--plan",
                                           saved,         "--yes",
                                           "--root",      (dir / "root").string(),
                                           "--state-dir", (dir / "state").string() };
  // From another throwaway namespace, never the host's: were the refusal broken, the apply
  // would change only that namespace's values.
  std::vector<std::string> from_quiet = { m_advisor };
  from_quiet.insert(from_quiet.end(), apply.begin(), apply.end());
  const RunResult here = quiet.front()->run(from_quiet);
  EXPECT_EQ(here.exit_code, 1) << here.out << here.err;
  EXPECT_NE(here.err.find("the plan was made in network namespace " + named.name() + " ("), std::string::npos)
    << here.err;
  EXPECT_NE(here.err.find("to apply it in its namespace, add `--netns " + named.name() + " --no-persist`"),
            std::string::npos)
    << here.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "state")) << "refused before the journal";
  // The same command with the options the hint names added applies it there.
  std::vector<std::string> added = apply;
  added.insert(added.end(), { "--netns", named.name(), "--no-persist" });
  const RunResult there = advisor(added);
  EXPECT_EQ(there.exit_code, 0) << there.out << there.err;
  EXPECT_EQ(named.get_sysctl("net.ipv4.tcp_tw_reuse"), "1") << there.out << there.err;
  std::filesystem::remove_all(dir);
  holder.stop();
}

// The fast path: one BPF pass over the shared established hash reads every namespace's sockets
// exactly as a sock_diag dump inside each one does (outbound and inbound TIME_WAIT over IPv4 and
// IPv6, ESTABLISHED with and without timestamps, each namespace with its own port range), and the
// output says which path ran. A namespace with a TCP hash of its own (made after
// net.ipv4.tcp_child_ehash_entries was set) is not in that table: it is read by sock_diag, said.
TEST_F(NetnsLiveTest, OnePassWalkCountsEveryNamespaceAsItsOwnDumpDoes)
{
  const auto traffic = [this](const std::string& setup, const std::string& tag) {
    return "ip link set lo up && " + setup + " && { " + m_loadgen +
           " server --bind :: --port 8081 --timeout-ms 100000 >/dev/null 2>&1 & " + m_loadgen +
           " server --bind 127.0.0.1 --port 8082 --close-first --timeout-ms 100000 >/dev/null 2>&1 & } && "
           "sleep 0.3 && " +
           m_loadgen + " client --connect 127.0.0.1 --port 8081 --count 300 --close-first >/dev/null && " +
           m_loadgen + " client --connect ::1 --port 8081 --count 120 --close-first >/dev/null && " +
           m_loadgen + " client --connect 127.0.0.1 --port 8082 --count 80 >/dev/null && { " + m_loadgen +
           " client --connect ::1 --port 8081 --count 3 --hold 3 --hold-ms 100000 >/dev/null & } && "
           "sleep 1 && echo " +
           tag + " $$ && exec sleep 100";
  };
  Netns a("nnwalka");
  BackgroundProcess in_a(
    a.exec_argv({ "sh", "-c", traffic("sysctl -qw net.ipv4.ip_local_port_range='30000 30999'", "loaded") }));
  Netns b("nnwalkb");
  BackgroundProcess in_b(
    b.exec_argv({ "sh", "-c", traffic("sysctl -qw net.ipv4.tcp_timestamps=0", "loaded") }));
  // A namespace with its own hash table: the sysctl is read from the namespace that creates it.
  Netns parent("nnwalkp");
  ASSERT_EQ(parent.run({ "sysctl", "-qw", "net.ipv4.tcp_child_ehash_entries=1024" }).exit_code, 0);
  BackgroundProcess in_own(parent.exec_argv({ "unshare", "--net", "sh", "-c", traffic("true", "owned") }));
  ASSERT_TRUE(in_a.wait_for_output("loaded", std::chrono::seconds(60))) << in_a.output();
  ASSERT_TRUE(in_b.wait_for_output("loaded", std::chrono::seconds(60))) << in_b.output();
  ASSERT_TRUE(in_own.wait_for_output("owned", std::chrono::seconds(60))) << in_own.output();
  const std::string own_pid = word_after(in_own.output(), "owned");
  ASSERT_FALSE(own_pid.empty()) << in_own.output();

  const auto census = [this](const std::string& reader, const std::vector<std::string>& env = {}) {
    const RunResult r =
      advisor({ "census", "--all-netns", "--format", "json", "--top", "50", "--socket-reader", reader }, env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  };
  const json by_walk = census("bpf-walk");
  const json by_dumps = census("sock-diag");
  // The same walk handing over 64 records a run: about 20 runs, each ending at a bucket boundary.
  const json by_small_runs = census("bpf-walk", { "TW_ADVISOR_WALK_RUN_RECORDS=64" });
  const json by_iterator = census("bpf-iter");
  ASSERT_FALSE(by_walk.empty() || by_dumps.empty() || by_small_runs.empty() || by_iterator.empty());
  EXPECT_EQ(by_iterator.at("sockets_read").at("reader"), "bpf-iter");
  // walked_sockets counts the whole shared table, other tests' namespaces and the host's own
  // included, so it moves between two runs; the per-namespace comparisons below are exact.
  EXPECT_GE(by_small_runs.at("sockets_read").at("walked_sockets").get<long>(), 2 * 450);
  EXPECT_EQ(by_walk.at("sockets_read").at("walk_runs"), 1);
  EXPECT_GE(by_small_runs.at("sockets_read").at("walk_runs").get<int>(), 15);
  EXPECT_EQ(by_walk.at("sockets_read").at("reader"), "bpf-walk");
  EXPECT_GE(by_walk.at("sockets_read").at("walked_sockets").get<long>(), 2 * 450);
  EXPECT_GE(by_walk.at("sockets_read").at("fell_back").get<long>(), 1) << "the namespace with its own table";
  EXPECT_EQ(by_dumps.at("sockets_read").at("reader"), "sock-diag");
  EXPECT_EQ(by_dumps.at("sockets_read").at("reason"), "--socket-reader sock-diag");

  for (const Netns* ns : { &a, &b }) {
    const json* w = entry_for(by_walk, inode_of(ns->path()));
    const json* d = entry_for(by_dumps, inode_of(ns->path()));
    ASSERT_NE(w, nullptr) << ns->name();
    ASSERT_NE(d, nullptr) << ns->name();
    EXPECT_EQ(w->at("socket_reader"), "bpf-walk");
    EXPECT_EQ(d->at("socket_reader"), "sock-diag");
    EXPECT_EQ(w->at("census"), d->at("census"))
      << ns->name() << "\nwalk:  " << w->at("census").dump() << "\ndumps: " << d->at("census").dump();
    const json* small = entry_for(by_small_runs, inode_of(ns->path()));
    const json* iter = entry_for(by_iterator, inode_of(ns->path()));
    ASSERT_NE(small, nullptr);
    ASSERT_NE(iter, nullptr);
    EXPECT_EQ(small->at("census"), d->at("census")) << ns->name() << " in runs of 64 records";
    EXPECT_EQ(iter->at("socket_reader"), "bpf-iter");
    EXPECT_EQ(iter->at("census"), d->at("census")) << ns->name() << " by the TCP iterator";
    // Both clients' TIME_WAIT (300 + 120) and the server's own (80): nothing fell out of the walk.
    EXPECT_GE(w->at("census").at("states").at("time-wait").get<long>(), 450) << ns->name();
    EXPECT_EQ(w->at("census").at("states").at("established").get<long>(), 6) << ns->name();
  }
  const json* wa = entry_for(by_walk, inode_of(a.path()));
  EXPECT_EQ(wa->at("census").at("usable_ports"), 1000);
  EXPECT_EQ(wa->at("census").at("timestamps").at("negotiated"), 3);
  const json* wb = entry_for(by_walk, inode_of(b.path()));
  EXPECT_EQ(wb->at("census").at("timestamps").at("negotiated"), 0);

  const json* own = entry_for(by_walk, inode_of("/proc/" + own_pid + "/ns/net"));
  ASSERT_NE(own, nullptr) << by_walk.dump().substr(0, 2000);
  EXPECT_EQ(own->at("socket_reader"), "bpf-iter");
  EXPECT_NE(by_walk.at("sockets_read").at("others").dump().find("its own TCP hash table"), std::string::npos);
  EXPECT_NE(own->at("census").at("notes").dump().find("its own TCP hash table"), std::string::npos)
    << own->at("census").dump();
  EXPECT_GE(own->at("census").at("states").at("time-wait").get<long>(), 450);

  // The text says which path ran.
  const RunResult text = advisor({ "census", "--all-netns" });
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("sockets: one BPF pass over the shared TCP hash"), std::string::npos) << text.out;
}

// Namespaces come and go on a node: one deleted (ip netns del) and one whose only process exits
// while the run is under way are skipped, each with why, and the run still succeeds. Both moments
// are tried: right after the listing (before anything was read) and right after the one-pass walk
// (their sockets read, their census not yet made). TW_ADVISOR_PAUSE holds the run there, and -v
// says when it is held.
TEST_F(NetnsLiveTest, ANamespaceGoneMidRunIsSkippedWithWhyNotAnError)
{
  for (const std::string point : { "netns-listed", "netns-walked" }) {
    SCOPED_TRACE(point);
    auto named = std::make_unique<Netns>("nngone");
    const std::uint64_t named_inode = inode_of(named->path());
    BackgroundProcess holder({ "unshare", "--net", "sh", "-c", "echo held $$ && exec sleep 100" });
    ASSERT_TRUE(holder.wait_for_output("held", std::chrono::seconds(10))) << holder.output();
    const std::string holder_pid = word_after(holder.output(), "held");
    const std::uint64_t holder_inode = inode_of("/proc/" + holder_pid + "/ns/net");
    Netns kept("nnkept");

    char dir_template[] = "/tmp/twl-gone.XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string out = std::string(dir_template) + "/census.json";
    // stderr (-v) to the pipe the test reads, the JSON to the file.
    BackgroundProcess run(
      { "sh",
        "-c",
        "{ TW_ADVISOR_PAUSE=" + point + ":3000 " + m_advisor + " census --all-netns -v --format json 2>&1 >" +
          out + "; echo rc=$?; } | grep --line-buffered -e 'pause point' -e rc=; echo exited" });
    ASSERT_TRUE(run.wait_for_output("pause point " + point, std::chrono::seconds(30))) << run.output();
    named.reset();
    holder.stop();
    ASSERT_TRUE(run.wait_for_output("exited", std::chrono::seconds(60))) << run.output();
    EXPECT_NE(run.output().find("rc=0"), std::string::npos) << run.output();
    std::ifstream in(out);
    const json node = json::parse(in);
    std::filesystem::remove_all(dir_template);

    for (const auto inode : { named_inode, holder_inode }) {
      const json* e = entry_for(node, inode);
      ASSERT_NE(e, nullptr) << "listed before it went: " << inode;
      EXPECT_FALSE(e->contains("census")) << e->dump();
      EXPECT_NE(e->value("skipped", "").find("gone during the run"), std::string::npos) << e->dump();
    }
    const json* k = entry_for(node, inode_of(kept.path()));
    ASSERT_NE(k, nullptr);
    EXPECT_TRUE(k->contains("census")) << k->dump();
    EXPECT_EQ(k->value("socket_reader", ""), "bpf-walk");
  }
}

// A pod's own sysctl setting as the owner of a key: a Kubernetes sandbox's OCI bundle, as
// containerd keeps it, that declares tcp_tw_reuse 0 for a namespace under real port pressure,
// pinned at /var/run/netns/NAME (no infra process, as CRI-O runs pods by default); and a Docker
// bundle found through its init.pid, a real process in that namespace and in a cgroup named
// after the container. The plan reads both from --root, names the pod, and apply will not change
// the key there without --force.
TEST_F(NetnsLiveTest, APodsDeclaredSysctlIsReadFromItsBundleAndApplyWillNotFightIt)
{
  namespace fs = std::filesystem;
  Netns pod("nnpod");
  const RunResult made = pod.run({ "sh", "-c", stuck_script() }, {}, std::chrono::seconds(120));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  BackgroundProcess init(pod.exec_argv({ "sh", "-c", "echo started && exec sleep 170" }));
  ASSERT_TRUE(init.wait_for_output("started", std::chrono::seconds(10))) << init.output();
  const std::string pid = std::to_string(init.pid());
  ASSERT_EQ(inode_of("/proc/" + pid + "/ns/net"), inode_of(pod.path()));
  const std::string docker_id(64, 'b');
  FakeContainerCgroup cgroup("docker-" + docker_id + ".scope", pid);

  const fs::path tree = fs::temp_directory_path() / ("twa-pod-live-" + std::to_string(::getpid()));
  struct RemoveTree
  {
    fs::path path;
    ~RemoveTree()
    {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } const remove_tree{ tree };
  // The host's /run/netns seen from the tree, as a host mounted at /host shows it.
  fs::create_directories(tree / "run/netns");
  fs::create_symlink(pod.path(), tree / "run/netns" / pod.name());
  const fs::path tasks = tree / "run/containerd/io.containerd.runtime.v2.task";
  const std::string sandbox(64, 'a');
  fs::create_directories(tasks / "k8s.io" / sandbox);
  std::ofstream(tasks / "k8s.io" / sandbox / "config.json")
    << R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-name":"web",)"
    << R"("io.kubernetes.cri.sandbox-namespace":"shop"},"linux":{"namespaces":[{"type":"network",)"
    << R"("path":"/var/run/netns/)" << pod.name() << R"("}],"sysctl":{"net.ipv4.tcp_tw_reuse":"0"}}})";
  fs::create_directories(tasks / "moby" / docker_id);
  std::ofstream(tasks / "moby" / docker_id / "config.json")
    << R"({"linux":{"namespaces":[{"type":"network"}]}})";
  std::ofstream(tasks / "moby" / docker_id / "init.pid") << pid;

  const fs::path saved = tree / "plan.json";
  const RunResult r = advisor(
    { "plan", "--netns", pod.name(), "--root", tree.string(), "--format", "json", "--out", saved.string() });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json p = json::parse(r.out);
  EXPECT_EQ(p.at("verdict"), "helps") << p.at("reasons").dump();
  const json& nb = p.at("facts").at("namespace_boot");
  EXPECT_EQ(nb.at("sysctl_d_reaches"), false);
  ASSERT_EQ(nb.at("containers").size(), 2U) << nb.dump();
  for (const auto& c : nb.at("containers")) {
    EXPECT_TRUE(c.at("running").get<bool>()) << c.dump();
  }
  ASSERT_EQ(nb.at("tuners").size(), 1U) << nb.dump();
  EXPECT_EQ(nb.at("tuners").at(0).at("owner"), "pod shop/web (containerd sandbox aaaaaaaaaaaa)");
  EXPECT_EQ(nb.at("tuners").at(0).at("value"), "0");
  EXPECT_TRUE(nb.at("tuners").at(0).at("running").get<bool>());
  const std::string findings = p.at("findings").dump();
  EXPECT_NE(findings.find("runtime-owns-key"), std::string::npos) << findings;
  EXPECT_NE(p.at("advice").dump().find("This is pod shop/web's namespace"), std::string::npos)
    << p.at("advice").dump();

  // apply in that namespace refuses to fight the pod's declared value, and changes nothing.
  const auto reuse_now = [&pod] {
    return std::string(trim(pod.run({ "sysctl", "-n", "net.ipv4.tcp_tw_reuse" }).out));
  };
  const std::vector<std::string> apply = { "apply",  "--netns",      pod.name(),     "--root", tree.string(),
                                           "--plan", saved.string(), "--no-persist", "--yes",  "--watch",
                                           "0" };
  const RunResult refused = advisor(apply);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("pod shop/web (containerd sandbox aaaaaaaaaaaa)"), std::string::npos)
    << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(reuse_now(), "0");
  // --force changes it here, until the pod is made again; rollback undoes it.
  std::vector<std::string> forced = apply;
  forced.emplace_back("--force");
  const RunResult applied = advisor(forced);
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_EQ(reuse_now(), "1");
  const RunResult undone = advisor({ "rollback", "--netns", pod.name(), "--root", tree.string() });
  EXPECT_EQ(undone.exit_code, 0) << undone.out << undone.err;
  EXPECT_EQ(reuse_now(), "0");
  init.stop();
}

TEST_F(NetnsLiveTest, BadNamespacesAreClearErrorsNamingThem)
{
  const struct
  {
    std::string spec;
    std::string says;
  } cases[] = {
    { "twa-no-such-namespace", "no network namespace named twa-no-such-namespace" },
    { "/etc/hostname", "not a namespace file" },
    { "/proc/self/ns/uts", "not a network namespace" },
    { "4194304", "no process 4194304" }, // above pid_max: never a live process
  };
  for (const auto& c : cases) {
    for (const std::string command : { "plan", "census", "status" }) {
      const RunResult r = advisor({ command, "--netns", c.spec });
      EXPECT_EQ(r.exit_code, 1) << command << " --netns " << c.spec << "\n" << r.out;
      EXPECT_NE(r.err.find("--netns " + c.spec), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    }
  }
  // --netns and --all-netns are one namespace or all of them, not both.
  const RunResult both = advisor({ "plan", "--all-netns", "--netns", "x" });
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
}

TEST_F(NetnsLiveTest, WithoutRootAllNetnsSaysWhyAndPlanStillWorks)
{
  const std::vector<std::string> nobody = { "setpriv",        "--reuid=65534",   "--regid=65534",
                                            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all" };
  std::vector<std::string> argv = nobody;
  argv.insert(argv.end(), { m_advisor, "plan", "--all-netns" });
  const RunResult r = run(argv, {}, {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("--all-netns: needs root"), std::string::npos) << r.err;
  // A plain plan still works, and without root it cannot tell which namespace this is: it
  // makes no claim (no netns_kind) rather than call the host's namespace a process's.
  argv = nobody;
  argv.insert(argv.end(), { m_advisor, "plan", "--format", "json" });
  const RunResult plan = run(argv, {}, {}, std::chrono::seconds(60));
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const json p = json::parse(plan.out);
  EXPECT_FALSE(p.at("facts").contains("netns_kind")) << p.at("facts").dump().substr(0, 300);
  EXPECT_EQ(p.at("advice").dump().find("persist-in-namespace"), std::string::npos);
}

} // namespace
} // namespace tw::test
