// The whole node: every namespace judged alike, the most urgent first, and what each says about
// making a change last (a container's namespace is not the host's).
#include "apply/validate.hpp"
#include "config/loader.hpp"
#include "facts/netns.hpp"
#include "policy/engine.hpp"
#include "policy/node.hpp"
#include "policy_facts.hpp"
#include "reader/plan_reader.hpp"
#include "report/node_json.hpp"
#include "report/node_text.hpp"
#include "report/plan_json.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tw::test {
namespace {

NetnsInfo netns(std::uint64_t inode, NetnsKind kind, const std::string& name)
{
  NetnsInfo n;
  n.inode = inode;
  n.kind = kind;
  n.name = name;
  return n;
}

Facts pressured_facts(std::uint64_t inode, const std::string& kind, const std::string& name, std::uint64_t tw)
{
  Facts f = base_facts();
  f.host.netns_inode = inode;
  f.host.netns_kind = kind;
  f.host.netns_name = name;
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.0.1", "198.18.0.2", 8080, tw, tw);
  return f;
}

bool has_advice(const Plan& plan, const std::string& id)
{
  for (const auto& a : plan.advice) {
    if (a.id == id) {
      return true;
    }
  }
  return false;
}

TEST(PolicyNode, MostUrgentFirstThenHighestPressure)
{
  NodeFacts node;
  node.hostname = "node1";
  Facts quiet = base_facts();
  quiet.host.netns_kind = "host";
  quiet.host.netns_name = "host";
  node.namespaces.push_back({ netns(1, NetnsKind::host, "host"), quiet, {} });
  node.namespaces.push_back({ netns(2, NetnsKind::named, "gone"), std::nullopt, "gone during the run" });
  node.namespaces.push_back({ netns(3, NetnsKind::named, "a"), pressured_facts(3, "named", "a", 600), {} });
  node.namespaces.push_back({ netns(4, NetnsKind::process, "pid 7 (client)"),
                              pressured_facts(4, "process", "pid 7 (client)", 990),
                              {} });
  const NodePlan plan = policy::make_node_plan(node, Profile{}, config::builtin_policy());
  ASSERT_EQ(plan.namespaces.size(), 4u);
  EXPECT_EQ(plan.namespaces[0].netns.name, "pid 7 (client)"); // helps, 99%
  EXPECT_EQ(plan.namespaces[1].netns.name, "a");              // helps, 60%
  EXPECT_EQ(plan.namespaces[2].netns.name, "host");           // irrelevant
  EXPECT_EQ(plan.namespaces[3].netns.name, "gone");           // skipped last
  EXPECT_EQ(plan.namespaces[0].plan->verdict, Verdict::helps);
  EXPECT_FALSE(plan.namespaces[3].plan.has_value());
  EXPECT_TRUE(plan.has_changes());
  NodePlan quiet_node = plan;
  quiet_node.namespaces.erase(quiet_node.namespaces.begin(), quiet_node.namespaces.begin() + 2);
  EXPECT_FALSE(quiet_node.has_changes()) << "the host's plan and a skipped one propose nothing";
  ASSERT_NE(plan.namespaces[0].top_group(), nullptr);
  EXPECT_EQ(plan.namespaces[0].top_group()->time_wait, 990u);

  const std::string text = node_plan_to_text(plan);
  // The summary fits 80 columns (the full plans after it wrap as plan's own text does).
  const std::string summary = text.substr(0, text.find("\n==="));
  std::size_t start = 0;
  while (start < summary.size()) {
    const auto end = summary.find('\n', start);
    const auto line = summary.substr(start, end - start);
    EXPECT_LE(line.size(), 80u) << line;
    start = end == std::string::npos ? summary.size() : end + 1;
  }
  EXPECT_NE(text.find("tcp_tw_reuse helps in 2, is blocked in 0; 1 skipped"), std::string::npos) << text;
  EXPECT_NE(text.find("=== pid 7 (client) (process), netns 4 ==="), std::string::npos) << text;
  EXPECT_EQ(text.find("=== host"), std::string::npos) << "only where it helps or is blocked";

  const auto doc = nlohmann::json::parse(json_text(node_plan_to_json(plan)));
  EXPECT_EQ(doc["schema_version"], 2);
  EXPECT_EQ(doc["kind"], "node-plan");
  EXPECT_EQ(doc["namespaces"][0]["netns"]["kind"], "process");
  EXPECT_EQ(doc["namespaces"][0]["plan"]["verdict"], "helps");
  EXPECT_EQ(doc["namespaces"][3]["skipped"], "gone during the run");
  // Each namespace's plan is a whole plan document, readable by apply --plan.
  const Facts back = facts_from_json(doc["namespaces"][0]["plan"], "node.json");
  EXPECT_EQ(back.host.netns_kind, "process");
  EXPECT_EQ(back.host.netns_name, "pid 7 (client)");
  // What apply reads of a reviewed plan says where it was judged.
  const PlanDocument reviewed = plan_document_from_json_text(doc["namespaces"][0]["plan"].dump(), "pod.json");
  EXPECT_EQ(reviewed.netns_kind, "process");
  EXPECT_EQ(reviewed.netns_name, "pid 7 (client)");
}

// Which path read the sockets is said in the text (wrapped at 80) and the JSON, per namespace
// and for the node, with the reason when the walk did not run.
TEST(PolicyNode, TheOutputSaysWhichPathReadTheSockets)
{
  NodeFacts node;
  node.hostname = "node1";
  node.namespaces.push_back({ netns(1, NetnsKind::host, "host"), base_facts(), {}, SocketReader::bpf_walk });
  node.namespaces.push_back({ netns(3, NetnsKind::named, "own"), base_facts(), {}, SocketReader::sock_diag });
  node.sockets.reader = SocketReader::bpf_walk;
  node.sockets.walked_sockets = 402113;
  node.sockets.walk_ms = 61.4;
  node.sockets.fell_back = 1;
  node.sockets.others = { "own: not in the shared TCP hash: it has its own TCP hash table "
                          "(net.ipv4.tcp_child_ehash_entries); read by the BPF TCP iterator" };
  const NodePlan plan = policy::make_node_plan(node, Profile{}, config::builtin_policy());
  const std::string text = node_plan_to_text(plan);
  EXPECT_NE(text.find("sockets: one BPF pass over the shared TCP hash (402113 sockets, 61 ms)"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("1 namespace read another way:\n        - own: not in the shared TCP hash"),
            std::string::npos)
    << text;
  for (std::size_t start = 0, end = 0; start < text.size(); start = end + 1) {
    end = text.find('\n', start);
    EXPECT_LE(text.substr(start, end - start).size(), 80u) << text.substr(start, end - start);
    if (end == std::string::npos) {
      break;
    }
  }
  const auto doc = nlohmann::json::parse(json_text(node_plan_to_json(plan)));
  EXPECT_EQ(doc["sockets_read"]["reader"], "bpf-walk");
  EXPECT_TRUE(doc["sockets_read"]["reason"].is_null());
  EXPECT_EQ(doc["sockets_read"]["walked_sockets"], 402113);
  EXPECT_EQ(doc["sockets_read"]["fell_back"], 1);
  std::set<std::string> readers;
  for (const auto& e : doc["namespaces"]) {
    readers.insert(e["socket_reader"].get<std::string>());
  }
  EXPECT_EQ(readers, (std::set<std::string>{ "bpf-walk", "sock-diag" }));

  NodeCensus census;
  census.hostname = "node1";
  census.sockets.reason = "the BPF walk could not load: it needs root, or CAP_BPF and CAP_PERFMON";
  const std::string ctext = node_census_to_text(census);
  EXPECT_NE(ctext.find("sockets: sock_diag in each namespace (the BPF walk could not load"),
            std::string::npos)
    << ctext;
  const auto cdoc = nlohmann::json::parse(json_text(node_census_to_json(census)));
  EXPECT_EQ(cdoc["sockets_read"]["reader"], "sock-diag");
  EXPECT_EQ(cdoc["sockets_read"]["reason"], census.sockets.reason);
}

TEST(PolicyNode, TheTopGroupIsTheMostPressuredWhateverItsPlace)
{
  Facts f = pressured_facts(3, "named", "a", 300);
  add_group(f, "198.18.0.1", "198.18.0.9", 443, 700, 650); // added last, more pressured
  ASSERT_NE(most_pressured(f.sockets), nullptr);
  EXPECT_EQ(most_pressured(f.sockets)->remote, "198.18.0.9");
  f.sockets.groups.clear();
  EXPECT_EQ(most_pressured(f.sockets), nullptr);
}

TEST(PolicyNode, AContainerNamespaceIsToldHowToMakeItLast)
{
  const Facts f = pressured_facts(5, "container", "pod 1234 container abc", 900);
  const Plan plan = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_EQ(plan.verdict, Verdict::helps);
  EXPECT_TRUE(has_advice(plan, "persist-in-namespace"));
  Facts host = f;
  host.host.netns_kind = "host";
  EXPECT_FALSE(has_advice(make_plan(host, Profile{}, config::builtin_policy()), "persist-in-namespace"));
  host.host.netns_kind.clear(); // an older recording: unknown, no claim either way
  EXPECT_FALSE(has_advice(make_plan(host, Profile{}, config::builtin_policy()), "persist-in-namespace"));
}

TEST(PolicyNode, ApplyRefusesToPersistTheHostsSysctldFromAnotherNamespace)
{
  const auto refusal = foreign_netns_persist(netns(5, NetnsKind::container, "docker 0123456789ab"), 1);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->first.find("docker 0123456789ab"), std::string::npos);
  EXPECT_NE(refusal->second.find("--no-persist"), std::string::npos);
  EXPECT_FALSE(foreign_netns_persist(netns(1, NetnsKind::host, "host"), 1).has_value());
  EXPECT_FALSE(foreign_netns_persist(netns(5, NetnsKind::named, "x"), 0).has_value()); // host unknown
}

TEST(PolicyNode, APlanFromAPodIsNotAppliedInTheHostsNamespace)
{
  const auto problem =
    foreign_plan_problem("container", "pod 1234", "/root/pod.json", netns(1, NetnsKind::host, "host"));
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("--netns NAME|PID --no-persist --plan /root/pod.json"), std::string::npos)
    << *problem;
  EXPECT_FALSE(
    foreign_plan_problem("container", "pod 1234", "p.json", netns(5, NetnsKind::container, "pod 1234")));
  EXPECT_FALSE(foreign_plan_problem("host", "host", "p.json", netns(1, NetnsKind::host, "host")));
  EXPECT_FALSE(foreign_plan_problem("", "", "p.json", netns(1, NetnsKind::host, "host"))); // an older plan
}

TEST(PolicyNode, ReaderRefusesAnUnknownNamespaceKind)
{
  const Facts f = pressured_facts(5, "named", "a", 900);
  auto doc =
    nlohmann::json::parse(json_text(plan_document(make_plan(f, Profile{}, config::builtin_policy()), f)));
  doc["facts"]["netns_kind"] = "vm";
  EXPECT_THROW(facts_from_json(doc, "plan.json"), Error);
}

TEST(FactsNetns, CgroupPathsNameTheContainerAndPod)
{
  const std::string id(64, 'a');
  auto o = cgroup_owner("0::/kubepods.slice/kubepods-burstable.slice/"
                        "kubepods-burstable-pod1b2c3d4e_0000_1111_2222_333344445555.slice/cri-containerd-" +
                        id + ".scope\n");
  EXPECT_EQ(o.runtime, "containerd");
  EXPECT_EQ(o.container, id);
  EXPECT_EQ(o.pod, "1b2c3d4e-0000-1111-2222-333344445555");
  o = cgroup_owner("0::/kubepods/besteffort/pod1b2c3d4e-0000-1111-2222-333344445555/" + id + "\n");
  EXPECT_EQ(o.runtime, "containerd");
  EXPECT_EQ(o.pod, "1b2c3d4e-0000-1111-2222-333344445555");
  o = cgroup_owner("0::/kubepods.slice/kubepods-pod12_34.slice/crio-" + id + ".scope\n");
  EXPECT_EQ(o.runtime, "cri-o");
  EXPECT_EQ(o.pod, "12-34");
  o = cgroup_owner("0::/system.slice/docker-" + id + ".scope\n");
  EXPECT_EQ(o.runtime, "docker");
  EXPECT_TRUE(o.pod.empty());
  o = cgroup_owner("12:pids:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n");
  EXPECT_EQ(o.runtime, "docker");
  EXPECT_EQ(o.container, id);
  // A hybrid host: the v2 line says "/", Docker's cgroupfs driver names it in v1 only.
  o = cgroup_owner("4:memory:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n0::/\n");
  EXPECT_EQ(o.runtime, "docker");
  EXPECT_EQ(o.container, id);
  o = cgroup_owner("4:memory:/process_api/ff9eb0f568caf6fa3ca2203e6eff5816\n0::/\n");
  EXPECT_TRUE(o.runtime.empty());
  o = cgroup_owner("0::/system.slice/nginx.service\n");
  EXPECT_TRUE(o.runtime.empty());
  EXPECT_EQ(o.unit, "nginx.service");
  o = cgroup_owner("0::/user.slice/user-0.slice/session-3.scope\n");
  EXPECT_TRUE(o.container.empty());
  o = cgroup_owner("0::/system.slice/docker-" + std::string(63, 'a') + ".scope\n"); // not an id
  EXPECT_TRUE(o.runtime.empty());
}

} // namespace
} // namespace tw::test
