#pragma once

#include "model/nat.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// Default bound on conntrack entries scanned: keeps time and memory flat on huge tables.
inline constexpr std::uint64_t k_default_conntrack_cap = 200000;
// SNAT entries after which the evidence is conclusive and the scan stops early.
inline constexpr std::uint64_t k_conclusive_snat = 1000;

// Counts conntrack entries by NAT status, one status word at a time, up to a cap. Pure, so the
// cap logic is tested without a kernel.
class ConntrackTally
{
public:
  // cap: the most entries counted (0 means none); conclusive_snat: stop once this many SNAT
  // entries are counted (the evidence is settled; 0 never stops early).
  explicit ConntrackTally(std::uint64_t cap, std::uint64_t conclusive_snat = k_conclusive_snat)
    : m_cap(cap)
    , m_conclusive_snat(conclusive_snat)
  {
  }

  // Adds one entry's status bits (IPS_* from nf_conntrack_common.h). False when the caller
  // should stop the dump: an entry arrived past the cap (so the table really is larger: the
  // counts become lower bounds), or the SNAT count became conclusive. An entry past the cap
  // is not counted.
  bool add(std::uint32_t status);
  // True when the scan stopped early because the SNAT evidence was conclusive.
  bool stopped_conclusive() const { return m_conclusive; }
  // Writes entries_scanned, snat/dnat counts, cap and cap_hit (the counts are lower bounds:
  // the cap was exceeded or the scan stopped once conclusive) into evidence.
  void fill(NatEvidence& evidence) const;

private:
  std::uint64_t m_cap;
  std::uint64_t m_conclusive_snat;
  std::uint64_t m_scanned = 0;
  std::uint64_t m_snat = 0;
  std::uint64_t m_dnat = 0;
  bool m_cap_hit = false;
  bool m_conclusive = false;
};

// One expression of an nftables rule, as far as NAT detection needs it.
struct NftExpr
{
  std::string name;                      // "nat", "masq", "target", "counter", ...
  std::optional<std::uint32_t> nat_type; // NFTA_NAT_TYPE (NFT_NAT_SNAT / NFT_NAT_DNAT) for "nat"
  std::uint32_t flags = 0;               // NFTA_NAT_FLAGS / NFTA_MASQ_FLAGS / xt target range flags
  std::string target_name;               // NFTA_TARGET_NAME for xtables-compat "target"
};

// The parts of one NFT_MSG_NEWRULE message that tell whether it is a source NAT rule.
struct NftRule
{
  std::uint8_t family = 0; // nfgen_family: NFPROTO_IPV4, IPV6, INET...
  std::string table;
  std::string chain;
  std::vector<NftExpr> exprs;
};

// Decodes the attributes of an NFT_MSG_NEWRULE (the bytes after struct nfgenmsg). Malformed
// input gives nullopt and a reason in error, never a read past the end.
std::optional<NftRule> decode_nft_rule(std::span<const std::uint8_t> attrs,
                                       std::uint8_t family,
                                       std::string& error);

// What one rule says about source NAT.
struct NatRuleVerdict
{
  bool source_nat = false;   // snat, masquerade, or an xtables SNAT/MASQUERADE target
  bool random_fully = false; // NF_NAT_RANGE_PROTO_RANDOM_FULLY on that expression
  std::string description;   // "nft ip nat postrouting: snat fully-random"
};

// Decides whether a rule rewrites source addresses or ports.
NatRuleVerdict classify_nft_rule(const NftRule& rule);

// True when /proc/net/ip_tables_names (or ip6_tables_names) content lists the "nat" table.
bool legacy_nat_table_listed(std::string_view tables_names);

// Counts conntrack entries with IPS_SRC_NAT / IPS_DST_NAT through a libnl-nf dump of the calling
// network namespace, stopping at cap. No conntrack or EPERM: conntrack_available=false with a note.
void count_conntrack_nat(NatEvidence& evidence, std::uint64_t cap);

// Reads source NAT rules: nftables over NETLINK_NETFILTER, then the legacy iptables table list
// below proc_root. Sets nat_rules_present (nullopt when neither could be read), nat_rules,
// random_fully and nat_rules_note.
void read_nat_rules(NatEvidence& evidence, const std::filesystem::path& proc_root);

// Both of the above.
NatEvidence read_nat_evidence(const std::filesystem::path& proc_root = "/proc",
                              std::uint64_t cap = k_default_conntrack_cap);

} // namespace tw
