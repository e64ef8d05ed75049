// The text report against golden files (tests/data/plan/golden; TW_UPDATE_GOLDEN=1 rewrites them).
#include "config/loader.hpp"
#include "policy/engine.hpp"
#include "policy_facts.hpp"
#include "report/plan_text.hpp"
#include "support/text.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/socket.h>

namespace tw::test {
namespace {

const std::filesystem::path k_golden = std::filesystem::path(TW_TEST_DATA_DIR) / "plan" / "golden";

void expect_golden(const std::string& name, const std::string& actual)
{
  const auto path = k_golden / name;
  if (std::getenv("TW_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << " (TW_UPDATE_GOLDEN=1 writes it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << path << " differs (TW_UPDATE_GOLDEN=1 rewrites it)";
}

std::string text_of(const Facts& f,
                    const Policy& policy = config::builtin_policy(),
                    const Profile& profile = Profile{})
{
  return plan_to_text(make_plan(f, profile, policy));
}

TEST(ReportPlanText, StuckClientHelps)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const std::string t = text_of(f);
  EXPECT_EQ(t.rfind("HELPS:", 0), 0u) << "the verdict comes first";
  expect_golden("unit-helps.txt", t);
}

// Where the prerequisite line after the one at `at` starts ("\n  ok ", "\n  warning ", ...).
std::size_t next_prerequisite(const std::string& t, std::size_t at)
{
  std::size_t next = std::string::npos;
  for (const char* status : { "\n  ok ", "\n  warning ", "\n  error " }) {
    next = std::min(next, t.find(status, at + 1));
  }
  return next;
}

TEST(ReportPlanText, TimestampsOffWithFixFirst)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const std::string t = text_of(f);
  EXPECT_LT(t.find("net.ipv4.tcp_timestamps  0"), t.find("net.ipv4.tcp_tw_reuse    0")) << t;
  // The failing prerequisite says which proposed change fixes it, right under it.
  const auto fail = t.find("error    tcp_timestamps");
  ASSERT_NE(fail, std::string::npos) << t;
  const auto fixed = t.find("-> fixed by the proposed change net.ipv4.tcp_timestamps = 1");
  ASSERT_NE(fixed, std::string::npos) << t;
  EXPECT_LT(fail, fixed) << t;
  EXPECT_LT(fixed, next_prerequisite(t, fail)) << "under the prerequisite, before the next one: " << t;
  expect_golden("unit-timestamps-off.txt", t);
}

TEST(ReportPlanText, DelayAsLongAsTimeWaitSaysWhichChangeFixesIt)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  set_sysctl(f, "net.ipv4.tcp_tw_reuse_delay", "60000");
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const std::string t = text_of(f);
  const auto fail = t.find("error    tw_reuse_delay");
  ASSERT_NE(fail, std::string::npos) << t;
  const auto fixed = t.find("-> fixed by the proposed change net.ipv4.tcp_tw_reuse_delay = 1000");
  ASSERT_NE(fixed, std::string::npos) << t;
  EXPECT_LT(fail, fixed) << t;
  EXPECT_LT(fixed, next_prerequisite(t, fail)) << "under the prerequisite, before the next one: " << t;
  EXPECT_LT(t.find("net.ipv4.tcp_tw_reuse_delay  60000"), t.find("net.ipv4.tcp_tw_reuse        0")) << t;
}

TEST(ReportPlanText, FailingPrerequisiteThePlanDoesNotFixIsNotAnnotated)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  set_port_range(f, 40000, 40999);
  Policy strict = config::builtin_policy();
  strict.id = "strict";
  strict.propose_prerequisite_fixes.value = false;
  const std::string t = text_of(f, strict);
  EXPECT_NE(t.find("error    tcp_timestamps"), std::string::npos) << t;
  EXPECT_EQ(t.find("fixed by"), std::string::npos) << t;
}

TEST(ReportPlanText, SavedPlanNamesTheFileInTheNextStep)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  const std::string t = plan_to_text(p, PlanTextOptions{ false, "/tmp/my plan.json", nullptr, {} });
  EXPECT_NE(t.find("Saved to /tmp/my plan.json. Next: review it, then\n`tw-advisor apply --plan '/tmp/my "
                   "plan.json'`"),
            std::string::npos)
    << t;
  EXPECT_EQ(t.find("tw-advisor plan --out plan.json"), std::string::npos) << t;

  Facts quiet = base_facts();
  const std::string none = plan_to_text(make_plan(quiet, Profile{}, config::builtin_policy()),
                                        PlanTextOptions{ false, "p.json", nullptr, {} });
  EXPECT_NE(none.find("Saved to p.json. Nothing to apply."), std::string::npos) << none;
}

// A plan of another tree (--root, --state-dir) leads to commands on that tree; in a namespace that
// is not the host's, judged with the host's tree, the apply it names changes runtime values only.
TEST(ReportPlanText, TheNextStepCarriesTheTreeAndRuntimeOnlyWhereTheNamespaceIsNotTheHosts)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  PlanTextOptions tree;
  tree.target_args = " --root /srv/r --state-dir '/srv/my state'";
  const std::string t = test::unwrapped(plan_to_text(p, tree));
  EXPECT_NE(t.find("`tw-advisor plan --root /srv/r --state-dir '/srv/my state' --out plan.json`"),
            std::string::npos)
    << t;
  EXPECT_NE(t.find("`tw-advisor apply --root /srv/r --state-dir '/srv/my state' --plan plan.json`"),
            std::string::npos)
    << t;
  PlanTextOptions pod;
  pod.runtime_only = true;
  const std::string in_pod = test::unwrapped(plan_to_text(p, pod));
  EXPECT_NE(in_pod.find("`tw-advisor apply --no-persist --plan plan.json`"), std::string::npos) << in_pod;
  EXPECT_NE(in_pod.find("`tw-advisor plan --out plan.json`"), std::string::npos) << in_pod;
}

TEST(ReportPlanText, WebServerInboundIrrelevant)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_tw_reuse", "2");
  add_inbound(f, 4200);
  Profile web;
  web.id = "web-server";
  expect_golden("unit-inbound.txt", text_of(f, config::builtin_policy(), web));
}

TEST(ReportPlanText, BlockedByPolicy)
{
  Facts f = base_facts();
  set_sysctl(f, "net.ipv4.tcp_timestamps", "0");
  add_group(f, "fd00:198:18:1::1", "fd00:198:18:1::2", 443, 28000, 27000, false, AF_INET6);
  Policy strict = config::builtin_policy();
  strict.id = "strict";
  strict.propose_prerequisite_fixes.value = false;
  expect_golden("unit-blocked.txt", text_of(f, strict));
}

TEST(ReportPlanText, InsufficientEvidence)
{
  Facts f = base_facts();
  f.sockets.available = false;
  f.sockets.error = "NETLINK_SOCK_DIAG dump: Operation not permitted";
  expect_golden("unit-insufficient.txt", text_of(f));
}

// The lines of t from the one starting with `from` to the next blank line.
std::string section(const std::string& t, const std::string& from)
{
  const auto at = t.find("\n" + from + "\n");
  if (at == std::string::npos) {
    return {};
  }
  const auto end = t.find("\n\n", at + 1);
  return t.substr(at + 1, end == std::string::npos ? std::string::npos : end - at);
}

// Each number once: the busiest group's pressure is told under Why, the narrow range under
// Prerequisites; their findings point there instead of saying them again.
TEST(ReportPlanText, FindingsPointToWhereTheirNumbersAreSaid)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  const Plan plan = make_plan(f, Profile{}, config::builtin_policy());
  const std::string t = plan_to_text(plan);
  const std::string findings = section(t, "Findings");
  ASSERT_FALSE(findings.empty()) << t;
  EXPECT_NE(findings.find("port-pressure: see Why"), std::string::npos) << findings;
  EXPECT_NE(findings.find("ports-exhausted: see Why"), std::string::npos) << findings;
  EXPECT_NE(findings.find("port-range-narrow: see port_range under Prerequisites"), std::string::npos)
    << findings;
  EXPECT_EQ(findings.find("1000 of 1000"), std::string::npos) << "said under Why already: " << findings;
  // The pressure numbers once in the whole plan (the WHY column says what reuse frees instead).
  const auto first = t.find("1000 of 1000 usable ports");
  ASSERT_NE(first, std::string::npos) << t;
  EXPECT_EQ(t.find("1000 of 1000 usable ports", first + 1), std::string::npos) << t;
  EXPECT_EQ(t.find("ports in TIME_WAIT there"), std::string::npos) << t;
  // JSON keeps the summaries; the text's pointer comes from told_in.
  const Finding* pressure = plan.finding("port-pressure");
  ASSERT_NE(pressure, nullptr);
  EXPECT_EQ(pressure->told_in, "reasons");
  EXPECT_NE(pressure->summary.find("1000 of 1000"), std::string::npos);
  const Finding* narrow = plan.finding("port-range-narrow");
  ASSERT_NE(narrow, nullptr);
  EXPECT_EQ(narrow->told_in, "prerequisites.port_range");
}

// The text lists findings worst first, whatever order the rules made them in.
TEST(ReportPlanText, FindingsWorstFirst)
{
  Plan plan = make_plan(base_facts(), Profile{}, config::builtin_policy());
  plan.findings = { Finding{ "a-info", Severity::info, "first made", {}, {} },
                    Finding{ "b-warning", Severity::warning, "second made", {}, {} },
                    Finding{ "c-error", Severity::error, "third made", {}, {} },
                    Finding{ "d-warning", Severity::warning, "fourth made", {}, {} } };
  const std::string findings = section(plan_to_text(plan), "Findings");
  const auto e = findings.find("c-error");
  const auto w1 = findings.find("b-warning");
  const auto w2 = findings.find("d-warning");
  const auto i = findings.find("a-info");
  ASSERT_NE(i, std::string::npos) << findings;
  EXPECT_LT(e, w1) << findings;
  EXPECT_LT(w1, w2) << "same severity: the rules' order: " << findings;
  EXPECT_LT(w2, i) << findings;
}

// An insufficient-evidence plan replaces the reasons: nothing may point to Why then.
TEST(ReportPlanText, NoPointerToAWhyThatDoesNotSayIt)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  set_unreadable(f, "net.ipv4.tcp_tw_reuse", ReadStatus::denied, "EACCES");
  const Plan plan = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_EQ(plan.verdict, Verdict::insufficient_evidence);
  const Finding* pressure = plan.finding("port-pressure");
  ASSERT_NE(pressure, nullptr);
  EXPECT_TRUE(pressure->told_in.empty()) << pressure->told_in;
  const std::string t = plan_to_text(plan);
  EXPECT_EQ(t.find("see Why"), std::string::npos) << t;
  EXPECT_NE(t.find("port-pressure: outbound TIME_WAIT holds 1000 of 1000"), std::string::npos) << t;
}

// The header wraps like the rest: a long evidence or namespace line stays within the width.
TEST(ReportPlanText, HeaderLinesFitTheWidth)
{
  const Plan plan = make_plan(base_facts(), Profile{}, config::builtin_policy());
  SymptomEvidence e;
  e.source = EvidenceSource::probe;
  e.window_seconds = 10;
  e.dropped = 12;
  HostInfo host;
  host.hostname = "a-rather-long-host-name.example.internal";
  host.netns_name = "cni-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  host.netns_kind = "named";
  host.netns_inode = 4026532842;
  PlanTextOptions o;
  o.evidence = &e;
  o.host = &host;
  o.width = 60;
  const std::string t = plan_to_text(plan, o);
  EXPECT_NE(t.find("BPF probe over 10.0 s"), std::string::npos) << t;
  EXPECT_NE(t.find("(named), inode"), std::string::npos) << t;
  for (const auto line : split(t, '\n')) {
    EXPECT_LE(line.size(), 60u) << line;
  }
}

// Following Next: literally must not lead into apply's refusal to persist: what to settle first
// comes before the commands, and names the option that gets past it.
TEST(ReportPlanText, WhatApplyWouldRefuseComesBeforeTheNextStep)
{
  Facts f = base_facts();
  set_port_range(f, 40000, 40999);
  add_group(f, "198.18.1.1", "198.18.1.2", 8080, 1000, 1000);
  Plan plan = make_plan(f, Profile{}, config::builtin_policy());
  ASSERT_FALSE(plan.changes.empty());
  plan.findings.push_back(
    Finding{ "persist-overridden", Severity::warning, "/etc/sysctl.d/99-admin.conf:1 sets it to 0", {}, {} });
  const std::string t = unwrapped(plan_to_text(plan));
  const auto first =
    t.find("First: apply refuses to persist while another sysctl.d file overrides the change (see "
           "persist-overridden above): fix that file, or add --no-persist to the apply below");
  ASSERT_NE(first, std::string::npos) << t;
  EXPECT_LT(first, t.find("Next: save the plan")) << t;
  // Not where the apply shown already has --no-persist (another namespace), nor where no apply
  // is shown (an interrupted apply comes first).
  PlanTextOptions pod;
  pod.netns = "pod-a";
  const std::string in_pod = unwrapped(plan_to_text(plan, pod));
  EXPECT_NE(in_pod.find("--no-persist --plan"), std::string::npos) << in_pod;
  EXPECT_EQ(in_pod.find("First:"), std::string::npos) << in_pod;
  plan.findings.push_back(
    Finding{ "apply-interrupted", Severity::error, "an apply was interrupted", {}, {} });
  const std::string interrupted = unwrapped(plan_to_text(plan));
  EXPECT_EQ(interrupted.find("First:"), std::string::npos) << interrupted;
}

// An interrupted apply leads, and the rollback command is given once: in its finding, which Why
// and the next step point to.
TEST(ReportPlanText, AnInterruptedApplyGivesTheRollbackCommandOnce)
{
  Facts f = base_facts();
  f.boot = BootFacts{};
  f.boot->interrupted =
    InterruptedApply{ "20261206T010203Z-77", "persisting", "/var/lib/tw-advisor/journal.json" };
  const std::string t = unwrapped(plan_to_text(make_plan(f, Profile{}, config::builtin_policy())));
  EXPECT_EQ(t.rfind("INTERRUPTED APPLY", 0), 0u) << t;
  const auto first = t.find("`tw-advisor rollback`");
  ASSERT_NE(first, std::string::npos) << t;
  EXPECT_EQ(t.find("`tw-advisor rollback`", first + 1), std::string::npos) << t;
  EXPECT_NE(t.find("apply-interrupted: an apply (20261206T010203Z-77) was interrupted"), std::string::npos)
    << t;
}

TEST(ReportPlanText, ColourOnlyWhenAsked)
{
  Facts f = base_facts();
  const Plan p = make_plan(f, Profile{}, config::builtin_policy());
  EXPECT_EQ(plan_to_text(p).find('\033'), std::string::npos);
  EXPECT_NE(plan_to_text(p, PlanTextOptions{ true, "", nullptr, {} }).find("\033[1;32mIRRELEVANT"),
            std::string::npos);
}

} // namespace
} // namespace tw::test
