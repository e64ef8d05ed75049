#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// What the host shows of source NAT, which can make reused 4-tuples collide at the peer.
struct NatEvidence
{
  // conntrack table (libnl-nf dump)
  bool conntrack_available = false; // false: no nf_conntrack here, or it could not be read
  std::string conntrack_note;       // why not, or other caveats
  std::uint64_t entries_scanned = 0;
  std::uint64_t snat_entries = 0; // IPS_SRC_NAT set (SNAT or MASQUERADE)
  std::uint64_t dnat_entries = 0; // IPS_DST_NAT set
  std::uint64_t cap = 0;          // the bound on entries scanned
  bool cap_hit = false;           // stopped at the cap: counts are lower bounds

  // NAT rules (nftables over netlink; legacy iptables table names from /proc)
  std::optional<bool> nat_rules_present; // nullopt: could not be read
  std::vector<std::string> nat_rules;    // short descriptions: "nft ip nat postrouting: masquerade"
  bool random_fully = false;             // a masquerade/snat rule uses fully random port mapping
  std::string nat_rules_note;            // how it was read, or why it could not be
};

} // namespace tw
