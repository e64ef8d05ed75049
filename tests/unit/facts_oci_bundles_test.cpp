// A container runtime as the owner of a pod's or container's sysctls: the OCI bundles of
// containerd (Kubernetes and Docker) and CRI-O in a fake tree, which namespace each is in (a
// pinned namespace file, /proc/PID/ns/net, its own init process), and what the plan and its
// JSON make of the keys they set.
#include "config/loader.hpp"
#include "facts/oci_bundles.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"
#include "reader/plan_reader.hpp"
#include "report/plan_json.hpp"
#include "report/plan_text.hpp"
#include "support/text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

const std::string k_reuse = "net.ipv4.tcp_tw_reuse";
const std::string k_range = "net.ipv4.ip_local_port_range";
const std::string k_containerd = "run/containerd/io.containerd.runtime.v2.task/";
const std::string k_crio = "run/containers/storage/overlay-containers/";

class FactsOciBundles : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_root = fs::temp_directory_path() / ("tw-oci-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    m_proc = m_root / "proc";
    fs::create_directories(m_proc);
  }
  void TearDown() override { fs::remove_all(m_root); }
  void put(const fs::path& rel, const std::string& text)
  {
    fs::create_directories((m_root / rel).parent_path());
    std::ofstream(m_root / rel) << text;
  }
  // A file standing for a namespace: its inode is what the bundles are matched by.
  std::uint64_t namespace_file(const fs::path& rel)
  {
    put(rel, "");
    struct stat st
    {};
    EXPECT_EQ(::stat((m_root / rel).c_str(), &st), 0);
    return st.st_ino;
  }
  fs::path m_root;
  fs::path m_proc;
};

std::string config(const std::string& annotations, const std::string& network, const std::string& sysctl)
{
  return R"({"ociVersion":"1.1.0","annotations":{)" + annotations +
         R"(},"linux":{"namespaces":[{"type":"pid"},)" + network + R"(],"sysctl":{)" + sysctl + "}}}";
}

TEST_F(FactsOciBundles, EachRuntimesBundleIsFoundInItsNamespace)
{
  // A Kubernetes pod under containerd: its sandbox pins /var/run/netns/cni-1, its app container
  // joins the sandbox's process's namespace; both are the same namespace (one inode).
  const std::uint64_t pod_ns = namespace_file("run/netns/cni-1");
  fs::create_directories(m_proc / "123/ns");
  fs::create_hard_link(m_root / "run/netns/cni-1", m_proc / "123/ns/net");
  const std::string sandbox = "0123456789abcdef0123";
  put(k_containerd + "k8s.io/" + sandbox + "/config.json",
      config(R"("io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-name":"web",)"
             R"("io.kubernetes.cri.sandbox-namespace":"shop")",
             R"({"type":"network","path":"/var/run/netns/cni-1"})",
             R"("net.ipv4.tcp_tw_reuse":"0","net/ipv4/ip_local_port_range":"20000 60999",)"
             R"("net.core.somaxconn":"4096")"));
  put(k_containerd + "k8s.io/" + sandbox + "/init.pid", "123");
  put("proc/123/cgroup", "0::/kubepods.slice/cri-containerd-" + sandbox + ".scope\n");
  put(k_containerd + "k8s.io/fedcba9876543210/config.json",
      config(R"("io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-name":"web",)"
             R"("io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.container-name":"app")",
             R"({"type":"network","path":"/proc/123/ns/net"})",
             ""));
  // Docker: a namespace of its own, found through its init process.
  fs::create_directories(m_proc / "456/ns");
  const std::uint64_t docker_ns = namespace_file("proc/456/ns/net");
  put(k_containerd + "moby/aaaabbbbccccdddd/config.json",
      config("", R"({"type":"network"})", R"("net.ipv4.tcp_tw_reuse":"1")"));
  put(k_containerd + "moby/aaaabbbbccccdddd/init.pid", "456\n");
  put("proc/456/cgroup", "0::/system.slice/docker-aaaabbbbccccdddd.scope\n");
  // A host-network container: no namespace of its own, nothing it sets is a namespace's.
  put(k_containerd + "moby/hosthosthost/config.json",
      R"({"linux":{"sysctl":{"net.ipv4.tcp_tw_reuse":"0"}}})");
  // CRI-O without an infra process: the pinned namespace alone; no pid file, so not running.
  const std::uint64_t crio_ns = namespace_file("run/netns/crio-2");
  put(k_crio + "99998888777766665555/userdata/config.json",
      config(R"("io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":"db",)"
             R"("io.kubernetes.pod.namespace":"data")",
             R"({"type":"network","path":"/run/netns/crio-2"})",
             R"("net.ipv4.tcp_tw_reuse":"0")"));
  // A bundle being made (no config yet) is skipped; a config that is not JSON, or whose members
  // are of another type than the OCI spec's, is said.
  fs::create_directories(m_root / k_containerd / "k8s.io/notyet");
  put(k_containerd + "k8s.io/broken/config.json", "{");
  put(k_containerd + "k8s.io/odd/config.json", R"({"linux":{"namespaces":[{"type":null}]}})");

  const OciBundles all = read_oci_bundles(m_root, m_proc);
  ASSERT_EQ(all.bundles.size(), 5U);
  ASSERT_EQ(all.unreadable.size(), 2U);
  EXPECT_NE(all.unreadable[0].find("broken/config.json (not JSON"), std::string::npos) << all.unreadable[0];
  EXPECT_NE(all.unreadable[1].find("odd/config.json (not an OCI config"), std::string::npos)
    << all.unreadable[1];

  const NamespaceBootFacts pod = namespace_boot_facts(all, pod_ns, { k_reuse, k_range });
  ASSERT_EQ(pod.containers.size(), 2U);
  std::vector<std::string> owners;
  for (const auto& c : pod.containers) {
    owners.push_back(c.owner);
    EXPECT_EQ(c.pod, "shop/web");
  }
  std::sort(owners.begin(), owners.end());
  EXPECT_EQ(owners[0], "container app of pod shop/web (containerd fedcba987654)");
  EXPECT_EQ(owners[1], "pod shop/web (containerd sandbox 0123456789ab)");
  ASSERT_EQ(pod.tuners.size(), 2U) << "somaxconn is not a key a plan may propose";
  const TunerClaim& range = pod.tuners[0]; // in key order: the slash form made canonical
  EXPECT_EQ(range.key, k_range);
  EXPECT_EQ(range.value, "20000 60999");
  EXPECT_EQ(pod.tuners[1].key, k_reuse);
  EXPECT_EQ(pod.tuners[1].value, "0");
  EXPECT_EQ(pod.tuners[1].owner, "pod shop/web (containerd sandbox 0123456789ab)");
  EXPECT_EQ(pod.tuners[1].source,
            (m_root / k_containerd / "k8s.io" / sandbox / "config.json").string() + " linux.sysctl");
  EXPECT_TRUE(pod.tuners[1].running);
  EXPECT_TRUE(pod.tuners[1].overrides_sysctld);
  EXPECT_FALSE(pod.tuners[1].in_container()) << "not a TuneD read through /proc/PID/root";
  EXPECT_NE(pod.tuners[1].effect.find("securityContext.sysctls"), std::string::npos) << pod.tuners[1].effect;

  const NamespaceBootFacts docker = namespace_boot_facts(all, docker_ns, { k_reuse });
  ASSERT_EQ(docker.tuners.size(), 1U);
  EXPECT_EQ(docker.tuners[0].owner, "Docker container aaaabbbbcccc");
  EXPECT_EQ(docker.containers.at(0).pod, "");
  EXPECT_NE(docker.tuners[0].effect.find("docker run --sysctl"), std::string::npos)
    << docker.tuners[0].effect;

  const NamespaceBootFacts crio = namespace_boot_facts(all, crio_ns, { k_reuse });
  ASSERT_EQ(crio.tuners.size(), 1U);
  EXPECT_EQ(crio.tuners[0].owner, "pod data/db (cri-o sandbox 999988887777)");
  EXPECT_TRUE(crio.tuners[0].running) << "no infra process (CRI-O's default), but its pinned namespace lives";

  // A namespace no bundle is in (an `ip netns` one), and the unknown namespace 0.
  EXPECT_TRUE(namespace_boot_facts(all, pod_ns + docker_ns + crio_ns, { k_reuse }).containers.empty());
  EXPECT_TRUE(namespace_boot_facts(all, 0, { k_reuse }).containers.empty())
    << "the host-network container's netns is 0 and must not match an unknown namespace";
}

TEST_F(FactsOciBundles, APidFileIsTrustedOnlyWhenItsProcessIsTheContainers)
{
  // Docker's own containerd, a userns-remapped namespace: a container whose init.pid now names
  // another process (its own exited, the pid reused). That process's namespace is not the
  // container's, and the container does not run.
  fs::create_directories(m_proc / "77/ns");
  namespace_file("proc/77/ns/net");
  put("proc/77/cgroup", "0::/user.slice/session-1.scope\n");
  const std::string docker = "run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby-100000.100000/";
  put(docker + "1111222233334444/config.json",
      config("", R"({"type":"network"})", R"("net.ipv4.tcp_tw_reuse":"0")"));
  put(docker + "1111222233334444/init.pid", "77");
  // k3s's containerd, a container that joined a pinned namespace and whose pid file is stale:
  // found through the file it joined.
  const std::uint64_t pinned = namespace_file("run/netns/cni-k3s");
  put("run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/5555666677778888/config.json",
      config("", R"({"type":"network","path":"/run/netns/cni-k3s"})", R"("net.ipv4.tcp_tw_reuse":"0")"));
  put("run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/5555666677778888/init.pid", "77");

  const OciBundles all = read_oci_bundles(m_root, m_proc);
  ASSERT_EQ(all.bundles.size(), 2U);
  const auto& reused = all.bundles[0].runtime == "docker" ? all.bundles[0] : all.bundles[1];
  const auto& joined = all.bundles[0].runtime == "docker" ? all.bundles[1] : all.bundles[0];
  EXPECT_EQ(reused.container.owner, "Docker container 111122223333");
  EXPECT_FALSE(reused.container.running);
  EXPECT_EQ(reused.netns, 0U) << "the reused pid's namespace was taken for the container's";
  EXPECT_EQ(joined.runtime, "containerd");
  EXPECT_EQ(joined.netns, pinned);
  EXPECT_FALSE(joined.container.running);
  EXPECT_TRUE(all.unreadable.empty()) << all.unreadable[0];
}

TEST_F(FactsOciBundles, NoRuntimeIsNoErrorAndAGoneNamespaceMatchesNothing)
{
  const OciBundles none = read_oci_bundles(m_root, m_proc);
  EXPECT_TRUE(none.bundles.empty());
  EXPECT_TRUE(none.unreadable.empty());
  // A stopped container: its init process and pinned namespace are gone.
  put(k_containerd + "default/gone/config.json",
      config("", R"({"type":"network","path":"/run/netns/gone"})", R"("net.ipv4.tcp_tw_reuse":"0")"));
  put(k_containerd + "default/gone/init.pid", "999999");
  const OciBundles gone = read_oci_bundles(m_root, m_proc);
  ASSERT_EQ(gone.bundles.size(), 1U);
  EXPECT_EQ(gone.bundles[0].netns, 0U);
  EXPECT_FALSE(gone.bundles[0].container.running);
  EXPECT_EQ(gone.bundles[0].container.owner, "container gone (containerd)");
  EXPECT_TRUE(gone.unreadable.empty()) << gone.unreadable[0];
}

Facts pod_facts()
{
  Facts f = stuck_client_behind_nat();
  f.host.netns_inode = 4026532999;
  f.host.netns_kind = "container";
  f.host.netns_name = "pod 1234 container abc";
  f.namespace_boot = NamespaceBootFacts{};
  f.namespace_boot->containers.push_back(
    { "pod shop/web (containerd sandbox 0123456789ab)", "/run/containerd/x/config.json", "shop/web", true });
  f.namespace_boot->tuners.push_back({ "pod shop/web (containerd sandbox 0123456789ab)",
                                       k_reuse,
                                       "0",
                                       "/run/containerd/x/config.json linux.sysctl",
                                       true,
                                       true,
                                       "the runtime sets it when it makes the pod's namespace again" });
  return f;
}

TEST(PolicyRuntime, APodThatDeclaresAnotherValueIsAWarningNamingIt)
{
  Facts f = pod_facts();
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_FALSE(p.changes.empty());
  const Finding* r = p.finding("runtime-owns-key");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->severity, Severity::warning);
  EXPECT_EQ(r->summary,
            "pod shop/web (containerd sandbox 0123456789ab) sets net.ipv4.tcp_tw_reuse = 0 in its OCI config "
            "(running): the runtime sets it when it makes the pod's namespace again");
  EXPECT_EQ(p.finding("tuner-owns-key"), nullptr) << "a runtime is not TuneD";
  // The same value as the plan's: nothing to fight.
  f.namespace_boot->tuners[0].value = "1";
  EXPECT_EQ(make_plan(f, Profile{}, config::builtin_policy()).finding("runtime-owns-key"), nullptr);
}

TEST(PolicyRuntime, TheAdviceToMakeItLastNamesThePod)
{
  Facts f = base_facts();
  f.host = pod_facts().host;
  f.namespace_boot = pod_facts().namespace_boot;
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.0.1", "198.18.0.2", 8080, 900, 900);
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_EQ(p.verdict, Verdict::helps);
  const auto advice = std::find_if(
    p.advice.begin(), p.advice.end(), [](const Advice& a) { return a.id == "persist-in-namespace"; });
  ASSERT_NE(advice, p.advice.end());
  EXPECT_NE(advice->text.find("This is pod shop/web's namespace"), std::string::npos) << advice->text;
  EXPECT_NE(advice->text.find("securityContext.sysctls"), std::string::npos) << advice->text;
  // Without a bundle naming a pod, the namespace's own name and every way to make it last.
  f.namespace_boot->containers.clear();
  const Plan unnamed = make_plan(f, Profile{}, config::builtin_policy());
  const auto generic = std::find_if(unnamed.advice.begin(), unnamed.advice.end(), [](const Advice& a) {
    return a.id == "persist-in-namespace";
  });
  ASSERT_NE(generic, unnamed.advice.end());
  EXPECT_NE(generic->text.find("namespace pod 1234 container abc"), std::string::npos) << generic->text;
  EXPECT_NE(generic->text.find("docker run --sysctl"), std::string::npos) << generic->text;
}

// The next step the text plan gives must not lead into apply's refusal: it says the owner comes first.
TEST(PolicyRuntime, TheNextStepSaysApplyRefusesWhileThePodOwnsTheKey)
{
  Facts f = pod_facts();
  const std::string owned = unwrapped(plan_to_text(make_plan(f, Profile{}, config::builtin_policy())));
  const auto first =
    owned.find("First: apply refuses while another owner sets a key it changes (see "
               "runtime-owns-key above): change the value there, or add --force to the apply "
               "below.");
  ASSERT_NE(first, std::string::npos) << owned;
  EXPECT_LT(first, owned.find("Next: save the plan")) << "before the commands it is about: " << owned;
  f.namespace_boot->tuners[0].value = "1";
  const std::string free = unwrapped(plan_to_text(make_plan(f, Profile{}, config::builtin_policy())));
  EXPECT_EQ(free.find("First: apply refuses while another owner"), std::string::npos) << free;
  EXPECT_NE(free.find("Next: save the plan"), std::string::npos) << free;
}

// A config this run could not read may be the namespace's owner: info, and only where a change is planned.
TEST(PolicyRuntime, AnUnreadableRuntimeConfigIsSaidWhereAChangeIsPlanned)
{
  Facts f = pod_facts();
  f.namespace_boot->tuners.clear();
  f.namespace_boot->unreadable = { "/run/containerd/a/config.json (Permission denied)",
                                   "/run/containerd/b/config.json (Permission denied)" };
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_FALSE(p.changes.empty());
  const Finding* u = p.finding("runtime-config-unreadable");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->severity, Severity::info);
  EXPECT_EQ(u->summary,
            "cannot read 2 container runtime configs (/run/containerd/a/config.json (Permission denied), "
            "...): a value one of them declares for this namespace is not seen");
  f.namespace_boot->unreadable.pop_back();
  const Plan one = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_NE(one.finding("runtime-config-unreadable"), nullptr);
  EXPECT_EQ(one.finding("runtime-config-unreadable")->summary.find("..."), std::string::npos);
  EXPECT_NE(one.finding("runtime-config-unreadable")->summary.find("1 container runtime config ("),
            std::string::npos);

  Facts quiet = base_facts();
  quiet.host = f.host;
  quiet.namespace_boot = f.namespace_boot;
  const Plan nothing = make_plan(quiet, Profile{}, config::builtin_policy());
  ASSERT_TRUE(nothing.changes.empty());
  EXPECT_EQ(nothing.finding("runtime-config-unreadable"), nullptr) << "nothing to change: nothing to fight";
}

TEST(PolicyRuntime, NamespaceBootIsRecordedAndReadBack)
{
  const Facts f = pod_facts();
  const Plan plan = make_plan(f, Profile{}, config::builtin_policy());
  const auto doc = plan_document(plan, f);
  const auto& nb = doc.at("facts").at("namespace_boot");
  EXPECT_EQ(nb.at("sysctl_d_reaches"), false);
  EXPECT_EQ(nb.at("containers").at(0).at("pod"), "shop/web");
  EXPECT_EQ(nb.at("tuners").at(0).at("owner"), "pod shop/web (containerd sandbox 0123456789ab)");
  EXPECT_FALSE(doc.at("facts").contains("boot")) << "sysctl.d was not read for a pod's namespace";

  const Facts back = facts_from_json(nlohmann::json::parse(doc.dump()), "test");
  ASSERT_TRUE(back.namespace_boot.has_value());
  ASSERT_EQ(back.namespace_boot->containers.size(), 1U);
  EXPECT_EQ(back.namespace_boot->containers[0].pod, "shop/web");
  EXPECT_TRUE(back.namespace_boot->containers[0].running);
  ASSERT_EQ(back.namespace_boot->tuners.size(), 1U);
  EXPECT_EQ(back.namespace_boot->tuners[0].value, "0");
  const Plan replayed = make_plan(back, Profile{}, config::builtin_policy());
  ASSERT_NE(replayed.finding("runtime-owns-key"), nullptr);
  EXPECT_EQ(replayed.finding("runtime-owns-key")->summary, plan.finding("runtime-owns-key")->summary);

  // A recording that claims sysctl.d reaches the namespace is not one this tool made.
  nlohmann::json bad = nlohmann::json::parse(doc.dump());
  bad["facts"]["namespace_boot"]["sysctl_d_reaches"] = true;
  EXPECT_THROW(facts_from_json(bad, "test"), std::exception);
}

} // namespace
} // namespace tw::test
