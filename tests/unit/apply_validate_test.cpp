#include "apply/validate.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

const std::set<std::string> k_allowed = { "net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range" };

bool mentions(const std::vector<std::string>& problems, const std::string& text)
{
  for (const auto& p : problems) {
    if (p.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(ApplyValidate, AcceptsAllowedKeysWithPlainValues)
{
  EXPECT_TRUE(validate_changes({ { "net.ipv4.tcp_tw_reuse", "2", "1" },
                                 { "net.ipv4.ip_local_port_range", "32768 60999", "10240 65535" } },
                               k_allowed)
                .empty());
}

TEST(ApplyValidate, RefusesNewlineAndControlCharacters)
{
  const auto p = validate_changes({ { "net.ipv4.tcp_tw_reuse", "2", "1\nkernel.panic = 1" } }, k_allowed);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(mentions(p, "control character"));
  EXPECT_TRUE(mentions(p, "\\x0a")); // shown escaped, never raw
  EXPECT_FALSE(validate_changes({ { "net.ipv4.tcp_tw_reuse", "2", "1\t" } }, k_allowed).empty());
  EXPECT_FALSE(validate_changes({ { "net.ipv4.tcp_tw_reuse", "2\x1b", "1" } }, k_allowed).empty());
}

TEST(ApplyValidate, RefusesTraversalAndUnknownKeys)
{
  auto allowed = k_allowed;
  allowed.insert("net.ipv4...etc.passwd");
  allowed.insert("net/../../etc/passwd");
  EXPECT_TRUE(
    mentions(validate_changes({ { "net.ipv4...etc.passwd", "", "1" } }, allowed), "not a valid sysctl name"));
  EXPECT_TRUE(
    mentions(validate_changes({ { "net/../../etc/passwd", "", "1" } }, allowed), "not a valid sysctl name"));
  EXPECT_TRUE(mentions(validate_changes({ { "kernel.panic", "0", "1" } }, k_allowed), "not among the keys"));
}

// The kernel refuses these with EINVAL; apply must refuse them before it changes anything.
TEST(ApplyValidate, RefusesValuesTheKernelRefuses)
{
  const auto inverted =
    validate_changes({ { "net.ipv4.ip_local_port_range", "32768 60999", "65535 1024" } }, k_allowed);
  ASSERT_EQ(inverted.size(), 1u);
  EXPECT_TRUE(mentions(inverted, "the low port 65535 is above the high port 1024"));
  EXPECT_TRUE(mentions(inverted, "e.g. \"1024 65535\""));
  EXPECT_TRUE(mentions(inverted, "the kernel would refuse it (EINVAL)"));
  EXPECT_TRUE(mentions(validate_changes({ { "net.ipv4.ip_local_port_range", "", "1024" } }, k_allowed),
                       "expected two port numbers"));
  EXPECT_TRUE(mentions(validate_changes({ { "net.ipv4.tcp_tw_reuse", "2", "3" } }, k_allowed),
                       "3 is outside the kernel's range 0..2"));
  EXPECT_TRUE(validate_changes({ { "net.ipv4.ip_local_port_range", "", "40000 40000" } }, k_allowed).empty());
}

TEST(ApplyValidate, RefusesEmptyLongAndDuplicate)
{
  EXPECT_TRUE(mentions(validate_changes({ { "net.ipv4.tcp_tw_reuse", "2", " " } }, k_allowed), "empty"));
  EXPECT_TRUE(mentions(
    validate_changes({ { "net.ipv4.tcp_tw_reuse", "2", std::string(2000, '1') } }, k_allowed), "bytes long"));
  EXPECT_TRUE(
    mentions(validate_changes(
               { { "net.ipv4.tcp_tw_reuse", "2", "1" }, { "net.ipv4.tcp_tw_reuse", "2", "0" } }, k_allowed),
             "twice"));
}

TEST(ApplyValidate, VerdictMustAgreeWithChanges)
{
  EXPECT_FALSE(verdict_problem(Verdict::helps, 2).has_value());
  EXPECT_FALSE(verdict_problem(Verdict::irrelevant, 0).has_value());
  const auto p = verdict_problem(Verdict::irrelevant, 1);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->find("the verdict is irrelevant but the plan lists 1 change;"), std::string::npos) << *p;
  EXPECT_TRUE(verdict_problem(Verdict::already_enabled, 3).has_value());
}

TEST(ApplyValidate, HostMismatchNamesBothSides)
{
  EXPECT_FALSE(host_mismatch("a", 5, "a", 5).has_value());
  EXPECT_FALSE(host_mismatch("", 0, "a", 5).has_value()); // unknown: nothing to compare
  const auto ns = host_mismatch("a", 4026532246, "a", 4026531840);
  ASSERT_TRUE(ns.has_value());
  EXPECT_NE(ns->find("network namespace 4026532246, this is 4026531840"), std::string::npos) << *ns;
  const auto named = host_mismatch("a", 4026532246, "a", 4026531840, "pod-a");
  ASSERT_TRUE(named.has_value());
  EXPECT_NE(named->find("network namespace pod-a (4026532246), this is 4026531840"), std::string::npos)
    << *named;
  const auto host = host_mismatch("web-1", 5, "web-2", 5);
  ASSERT_TRUE(host.has_value());
  EXPECT_NE(host->find("\"web-1\", this is \"web-2\""), std::string::npos) << *host;
}

} // namespace
} // namespace tw
