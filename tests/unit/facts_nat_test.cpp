#include "facts/nat.hpp"

#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tw {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t k_nested = 0x8000; // NLA_F_NESTED, as the kernel sets it

// One netlink attribute: 4-byte header in host order, payload, padding to 4 bytes.
Bytes attr(std::uint16_t type, const Bytes& payload)
{
  const auto len = static_cast<std::uint16_t>(4 + payload.size());
  Bytes out(4);
  std::memcpy(out.data(), &len, 2);
  std::memcpy(out.data() + 2, &type, 2);
  out.insert(out.end(), payload.begin(), payload.end());
  while (out.size() % 4 != 0) {
    out.push_back(0);
  }
  return out;
}

Bytes str(const std::string& s)
{
  Bytes b(s.begin(), s.end());
  b.push_back(0);
  return b;
}

Bytes be32(std::uint32_t v)
{
  return { static_cast<std::uint8_t>(v >> 24U),
           static_cast<std::uint8_t>(v >> 16U),
           static_cast<std::uint8_t>(v >> 8U),
           static_cast<std::uint8_t>(v) };
}

Bytes host32(std::uint32_t v)
{
  Bytes b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts)
{
  Bytes out;
  for (const Bytes& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Bytes expr(const std::string& name, const Bytes& data)
{
  return attr(NFTA_LIST_ELEM | k_nested,
              cat({ attr(NFTA_EXPR_NAME, str(name)), attr(NFTA_EXPR_DATA | k_nested, data) }));
}

Bytes rule(const std::string& table, const std::string& chain, std::initializer_list<Bytes> exprs)
{
  return cat({ attr(NFTA_RULE_TABLE, str(table)),
               attr(NFTA_RULE_CHAIN, str(chain)),
               attr(NFTA_RULE_HANDLE, Bytes(8, 0)),
               attr(NFTA_RULE_EXPRESSIONS | k_nested, cat(exprs)) });
}

NatRuleVerdict verdict_of(const Bytes& bytes, std::uint8_t family)
{
  std::string error;
  const auto decoded = decode_nft_rule(bytes, family, error);
  EXPECT_TRUE(decoded.has_value()) << error;
  return decoded ? classify_nft_rule(*decoded) : NatRuleVerdict{};
}

TEST(FactsNatRules, SnatExpressionIsSourceNat)
{
  // "ip daddr 198.18.0.2 snat to 198.18.0.3": payload, cmp, immediate, nat
  const Bytes bytes = rule("nat",
                           "postrouting",
                           { expr("payload", attr(1, be32(1))),
                             expr("cmp", attr(1, be32(1))),
                             expr("immediate", attr(1, be32(1))),
                             expr("nat",
                                  cat({ attr(NFTA_NAT_TYPE, be32(NFT_NAT_SNAT)),
                                        attr(NFTA_NAT_FAMILY, be32(NFPROTO_IPV4)),
                                        attr(NFTA_NAT_REG_ADDR_MIN, be32(1)) })) });
  std::string error;
  const auto decoded = decode_nft_rule(bytes, NFPROTO_IPV4, error);
  ASSERT_TRUE(decoded.has_value()) << error;
  EXPECT_EQ(decoded->table, "nat");
  EXPECT_EQ(decoded->chain, "postrouting");
  ASSERT_EQ(decoded->exprs.size(), 4U);
  EXPECT_EQ(decoded->exprs[3].name, "nat");
  EXPECT_EQ(decoded->exprs[3].nat_type, static_cast<std::uint32_t>(NFT_NAT_SNAT));
  const NatRuleVerdict v = classify_nft_rule(*decoded);
  EXPECT_TRUE(v.source_nat);
  EXPECT_FALSE(v.random_fully);
  EXPECT_EQ(v.description, "nft ip nat postrouting: snat");
}

TEST(FactsNatRules, DnatIsNotSourceNat)
{
  const NatRuleVerdict v = verdict_of(
    rule("nat", "prerouting", { expr("nat", attr(NFTA_NAT_TYPE, be32(NFT_NAT_DNAT))) }), NFPROTO_IPV4);
  EXPECT_FALSE(v.source_nat);
  EXPECT_EQ(v.description, "");
}

TEST(FactsNatRules, MasqueradeRandomFully)
{
  const NatRuleVerdict v =
    verdict_of(rule("t6",
                    "post",
                    { expr("counter", Bytes{}),
                      expr("masq", attr(NFTA_MASQ_FLAGS, be32(NF_NAT_RANGE_PROTO_RANDOM_FULLY))) }),
               NFPROTO_INET);
  EXPECT_TRUE(v.source_nat);
  EXPECT_TRUE(v.random_fully);
  EXPECT_EQ(v.description, "nft inet t6 post: masquerade fully-random");

  const NatRuleVerdict plain =
    verdict_of(rule("t6", "post", { expr("masq", attr(NFTA_MASQ_FLAGS, be32(NF_NAT_RANGE_PROTO_RANDOM))) }),
               NFPROTO_INET);
  EXPECT_TRUE(plain.source_nat);
  EXPECT_FALSE(plain.random_fully); // plain "random" is not fully random
}

TEST(FactsNatRules, XtablesCompatTargets)
{
  // iptables-nft -j MASQUERADE --random-fully: IPv4 revision 0 carries
  // nf_nat_ipv4_multi_range_compat {rangesize; range[0].flags; ...} in host order.
  const Bytes masq =
    rule("nat",
         "POSTROUTING",
         { expr("target",
                cat({ attr(NFTA_TARGET_NAME, str("MASQUERADE")),
                      attr(NFTA_TARGET_REV, be32(0)),
                      attr(NFTA_TARGET_INFO,
                           cat({ host32(1), host32(NF_NAT_RANGE_PROTO_RANDOM_FULLY), Bytes(12, 0) })) })) });
  const NatRuleVerdict v = verdict_of(masq, NFPROTO_IPV4);
  EXPECT_TRUE(v.source_nat);
  EXPECT_TRUE(v.random_fully);
  EXPECT_EQ(v.description, "nft ip nat POSTROUTING: xt MASQUERADE --random-fully");

  // SNAT revision 2 (nf_nat_range2): flags first. Here without random-fully.
  const Bytes snat =
    rule("nat",
         "POSTROUTING",
         { expr("target",
                cat({ attr(NFTA_TARGET_NAME, str("SNAT")),
                      attr(NFTA_TARGET_REV, be32(2)),
                      attr(NFTA_TARGET_INFO, cat({ host32(NF_NAT_RANGE_MAP_IPS), Bytes(40, 0) })) })) });
  const NatRuleVerdict s = verdict_of(snat, NFPROTO_IPV6);
  EXPECT_TRUE(s.source_nat);
  EXPECT_FALSE(s.random_fully);
  EXPECT_EQ(s.description, "nft ip6 nat POSTROUTING: xt SNAT");

  const NatRuleVerdict accept = verdict_of(
    rule("filter", "INPUT", { expr("target", attr(NFTA_TARGET_NAME, str("ACCEPT"))) }), NFPROTO_IPV4);
  EXPECT_FALSE(accept.source_nat);
}

TEST(FactsNatRules, TruncatedAttributesAreRefusedNotOverread)
{
  const Bytes whole = rule("nat", "post", { expr("masq", Bytes{}) });
  ASSERT_GT(whole.size(), 6U);
  std::string error;
  EXPECT_FALSE(
    decode_nft_rule(std::span<const std::uint8_t>(whole.data(), whole.size() - 6), NFPROTO_IPV4, error)
      .has_value());
  EXPECT_NE(error.find("has length"), std::string::npos) << error;

  // A length field below the header size must not loop forever.
  Bytes zero_len = { 0, 0, 1, 0 };
  error.clear();
  EXPECT_FALSE(decode_nft_rule(zero_len, NFPROTO_IPV4, error).has_value());
  EXPECT_NE(error, "");

  // Every prefix of a valid message is handled without a crash (ASan checks the reads).
  for (std::size_t n = 0; n <= whole.size(); ++n) {
    std::string e;
    (void)decode_nft_rule(std::span<const std::uint8_t>(whole.data(), n), NFPROTO_IPV4, e);
  }
}

// Raw attribute bytes whose length field says len, whatever the payload really holds.
Bytes raw_attr(std::uint16_t len, std::uint16_t type, const Bytes& payload)
{
  Bytes out(4);
  std::memcpy(out.data(), &len, 2);
  std::memcpy(out.data() + 2, &type, 2);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

TEST(FactsNatRules, MalformedNestedAttributesAreRefusedWithTheirOffset)
{
  // Inside a nat expression's data: an attribute claiming 64 bytes where 8 remain. The outer
  // lengths are all consistent, so only a check at every level finds it.
  const Bytes bad_data =
    cat({ attr(NFTA_NAT_TYPE, be32(NFT_NAT_SNAT)), raw_attr(64, NFTA_NAT_FLAGS, Bytes(4, 0)) });
  std::string error;
  EXPECT_FALSE(
    decode_nft_rule(rule("nat", "post", { expr("nat", bad_data) }), NFPROTO_IPV4, error).has_value());
  EXPECT_EQ(error, "netlink attribute at byte 8 has length 64 but only 8 bytes remain");

  // In the expression list: an element whose length is below the attribute header.
  const Bytes bad_list =
    cat({ attr(NFTA_RULE_TABLE, str("nat")),
          attr(NFTA_RULE_EXPRESSIONS | k_nested,
               cat({ expr("masq", Bytes{}), raw_attr(2, NFTA_LIST_ELEM, Bytes(4, 0)) })) });
  error.clear();
  EXPECT_FALSE(decode_nft_rule(bad_list, NFPROTO_IPV4, error).has_value());
  EXPECT_NE(error.find("has length 2"), std::string::npos) << error;

  // Inside one element: the expression's name attribute runs past its element.
  const Bytes bad_elem =
    cat({ attr(NFTA_RULE_EXPRESSIONS | k_nested,
               attr(NFTA_LIST_ELEM | k_nested, raw_attr(40, NFTA_EXPR_NAME, str("nat")))) });
  error.clear();
  EXPECT_FALSE(decode_nft_rule(bad_elem, NFPROTO_IPV4, error).has_value());
  EXPECT_EQ(error, "netlink attribute at byte 0 has length 40 but only 8 bytes remain");
}

TEST(FactsNatRules, ShortValuesAndTrailingBytesAreNotErrors)
{
  // A 2-byte NFTA_NAT_TYPE is no type at all (the rule is not source NAT), not a malformed rule.
  const Bytes short_type = rule("nat", "post", { expr("nat", attr(NFTA_NAT_TYPE, Bytes{ 0, 1 })) });
  std::string error;
  const auto decoded = decode_nft_rule(short_type, NFPROTO_IPV4, error);
  ASSERT_TRUE(decoded.has_value()) << error;
  ASSERT_EQ(decoded->exprs.size(), 1U);
  EXPECT_FALSE(decoded->exprs[0].nat_type.has_value());
  EXPECT_FALSE(classify_nft_rule(*decoded).source_nat);

  // Fewer than 4 bytes after the last attribute cannot be an attribute: ignored, as the kernel's
  // own parser ignores them. A string without its NUL ends at its payload.
  Bytes tail = cat({ attr(NFTA_RULE_TABLE, Bytes{ 'n', 'a', 't', 'x' }),
                     attr(NFTA_RULE_CHAIN, str("post")),
                     attr(NFTA_RULE_EXPRESSIONS | k_nested, expr("masq", Bytes{})) });
  tail.insert(tail.end(), { 7, 7, 7 });
  error.clear();
  const auto t = decode_nft_rule(tail, NFPROTO_IPV4, error);
  ASSERT_TRUE(t.has_value()) << error;
  EXPECT_EQ(t->table, "natx");
  EXPECT_EQ(classify_nft_rule(*t).description, "nft ip natx post: masquerade");
}

TEST(FactsNatRules, UnalignedInputDecodesTheSame)
{
  const Bytes whole =
    rule("nat", "post", { expr("masq", attr(NFTA_MASQ_FLAGS, be32(NF_NAT_RANGE_PROTO_RANDOM_FULLY))) });
  Bytes shifted(1, 0xee);
  shifted.insert(shifted.end(), whole.begin(), whole.end());
  std::string error;
  const auto d =
    decode_nft_rule(std::span<const std::uint8_t>(shifted.data() + 1, whole.size()), NFPROTO_IPV4, error);
  ASSERT_TRUE(d.has_value()) << error;
  EXPECT_EQ(classify_nft_rule(*d).description, "nft ip nat post: masquerade fully-random");
}

TEST(FactsNatRules, LegacyNatTableListed)
{
  EXPECT_TRUE(legacy_nat_table_listed("filter\nnat\nmangle\n"));
  EXPECT_TRUE(legacy_nat_table_listed("nat"));
  EXPECT_FALSE(legacy_nat_table_listed("filter\nmangle\n"));
  EXPECT_FALSE(legacy_nat_table_listed(""));
  EXPECT_FALSE(legacy_nat_table_listed("natural\n"));
}

TEST(FactsConntrackTally, CountsNatStatusBits)
{
  ConntrackTally tally(100);
  EXPECT_TRUE(tally.add(IPS_CONFIRMED | IPS_SRC_NAT | IPS_SRC_NAT_DONE));
  EXPECT_TRUE(tally.add(IPS_CONFIRMED | IPS_DST_NAT));
  EXPECT_TRUE(tally.add(IPS_CONFIRMED | IPS_SRC_NAT | IPS_DST_NAT));
  EXPECT_TRUE(tally.add(IPS_CONFIRMED | IPS_SRC_NAT_DONE)); // DONE alone is not the NAT bit
  NatEvidence e;
  tally.fill(e);
  EXPECT_EQ(e.entries_scanned, 4U);
  EXPECT_EQ(e.snat_entries, 2U);
  EXPECT_EQ(e.dnat_entries, 2U);
  EXPECT_EQ(e.cap, 100U);
  EXPECT_FALSE(e.cap_hit);
}

TEST(FactsConntrackTally, StopsOnePastTheCapAndSaysSo)
{
  ConntrackTally tally(3, 0);
  EXPECT_TRUE(tally.add(IPS_SRC_NAT));
  EXPECT_TRUE(tally.add(0));
  EXPECT_TRUE(tally.add(IPS_SRC_NAT)); // the third fills the cap: the table may hold exactly 3
  NatEvidence e;
  tally.fill(e);
  EXPECT_EQ(e.entries_scanned, 3U);
  EXPECT_FALSE(e.cap_hit) << "a table of exactly cap entries was read whole";
  EXPECT_FALSE(tally.add(IPS_SRC_NAT)); // a fourth exists: now the counts are lower bounds
  EXPECT_FALSE(tally.add(IPS_SRC_NAT)); // beyond it nothing more is counted
  tally.fill(e);
  EXPECT_EQ(e.entries_scanned, 3U);
  EXPECT_EQ(e.snat_entries, 2U);
  EXPECT_TRUE(e.cap_hit);
  EXPECT_FALSE(tally.stopped_conclusive());

  ConntrackTally none(0);
  EXPECT_FALSE(none.add(IPS_SRC_NAT));
  none.fill(e);
  EXPECT_EQ(e.entries_scanned, 0U);
  EXPECT_TRUE(e.cap_hit);
}

TEST(FactsConntrackTally, StopsEarlyOnceSourceNatIsConclusive)
{
  ConntrackTally tally(100, 3);
  EXPECT_TRUE(tally.add(0));
  EXPECT_TRUE(tally.add(IPS_SRC_NAT));
  EXPECT_TRUE(tally.add(IPS_DST_NAT));
  EXPECT_TRUE(tally.add(IPS_SRC_NAT));
  EXPECT_FALSE(tally.add(IPS_SRC_NAT)); // the third SNAT entry settles it
  EXPECT_TRUE(tally.stopped_conclusive());
  NatEvidence e;
  tally.fill(e);
  EXPECT_EQ(e.entries_scanned, 5U);
  EXPECT_EQ(e.snat_entries, 3U);
  EXPECT_EQ(e.dnat_entries, 1U);
  EXPECT_TRUE(e.cap_hit) << "stopping early makes the counts lower bounds";
  // The default stops after k_conclusive_snat SNAT entries.
  ConntrackTally defaults(1000000);
  std::uint64_t added = 0;
  while (defaults.add(IPS_SRC_NAT) && added < 2 * k_conclusive_snat) {
    ++added;
  }
  EXPECT_EQ(added + 1, k_conclusive_snat);
}

} // namespace
} // namespace tw
