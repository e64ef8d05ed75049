// Every libnl call for NAT evidence lives in this file (STYLE.md: one file of facts/ per
// netlink area). Messages are decoded into small plain values and dropped at once.
#include "facts/nat.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

// glibc's netinet/in.h (pulled in by libnl) must come before the kernel's linux/in.h.
// clang-format off
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
// clang-format on

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

namespace tw {
namespace {

constexpr int k_nla_header = static_cast<int>(sizeof(nlattr)); // NLA_HDRLEN: 4, already aligned

// The attribute at the start of a 4-byte aligned range (netlink keeps every attribute aligned).
const nlattr* first_attr(std::span<const std::uint8_t> bytes)
{
  return reinterpret_cast<const nlattr*>(bytes.data());
}

// nla_parse (and libnl's iterators) stop silently at an attribute whose length is below its
// header or runs past the end. Walks the range the same way first, so malformed input is refused
// with the offset and lengths instead of being taken as a shorter message. Fewer than 4 bytes
// left at the end are not an attribute and are ignored, as nla_parse ignores them.
bool check_attrs(std::span<const std::uint8_t> bytes, std::string& error)
{
  const nlattr* head = first_attr(bytes);
  const nlattr* pos = head;
  int remaining = static_cast<int>(bytes.size());
  while (nla_ok(pos, remaining) != 0) {
    pos = nla_next(pos, &remaining);
  }
  if (remaining < k_nla_header) {
    return true;
  }
  const auto offset = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(pos) - bytes.data());
  error = "netlink attribute at byte " + std::to_string(offset) + " has length " +
          std::to_string(pos->nla_len) + " but only " + std::to_string(remaining) + " bytes remain";
  return false;
}

// Indexes the attributes of a range by type (types above max are ignored; of repeated types the
// last one counts, as in nla_parse). False with error when the range is malformed.
template<std::size_t N>
bool parse_attrs(std::span<const std::uint8_t> bytes, std::array<nlattr*, N>& table, std::string& error)
{
  table.fill(nullptr);
  if (!check_attrs(bytes, error)) {
    return false;
  }
  // No policy: lengths are checked where a value is read, so a short value is "absent", not a
  // malformed rule. nla_parse only reads through the pointer it is given.
  auto* head = const_cast<nlattr*>(first_attr(bytes));
  return nla_parse(table.data(), static_cast<int>(N - 1), head, static_cast<int>(bytes.size()), nullptr) == 0;
}

std::span<const std::uint8_t> attr_payload(const nlattr* attr)
{
  return { static_cast<const std::uint8_t*>(nla_data(attr)), static_cast<std::size_t>(nla_len(attr)) };
}

// A string attribute up to its NUL (or its whole payload when the NUL is missing).
std::string attr_string(const nlattr* attr)
{
  const auto* text = static_cast<const char*>(nla_data(attr));
  return { text, strnlen(text, static_cast<std::size_t>(nla_len(attr))) };
}

// A 32-bit attribute in network byte order (nf_tables sends its numbers so); nullopt when short.
std::optional<std::uint32_t> attr_be32(const nlattr* attr)
{
  if (attr == nullptr || nla_len(attr) < static_cast<int>(sizeof(std::uint32_t))) {
    return std::nullopt;
  }
  return ntohl(nla_get_u32(attr));
}

std::uint32_t host_u32_at(std::span<const std::uint8_t> bytes, std::size_t offset)
{
  std::uint32_t v = 0;
  if (offset + sizeof v <= bytes.size()) {
    std::memcpy(&v, bytes.data() + offset, sizeof v);
  }
  return v;
}

bool decode_expr(std::span<const std::uint8_t> elem, std::uint8_t family, NftExpr& expr, std::string& error)
{
  std::array<nlattr*, NFTA_EXPR_MAX + 1> attrs{};
  if (!parse_attrs(elem, attrs, error)) {
    return false;
  }
  if (const nlattr* name = attrs[NFTA_EXPR_NAME]) {
    expr.name = attr_string(name);
  }
  if (expr.name != "nat" && expr.name != "masq" && expr.name != "target") {
    return true; // only these carry NAT; the rest need not be decoded
  }
  std::span<const std::uint8_t> data;
  if (const nlattr* d = attrs[NFTA_EXPR_DATA]) {
    data = attr_payload(d);
  }
  if (expr.name == "nat") {
    std::array<nlattr*, NFTA_NAT_MAX + 1> nat{};
    if (!parse_attrs(data, nat, error)) {
      return false;
    }
    expr.nat_type = attr_be32(nat[NFTA_NAT_TYPE]);
    expr.flags = attr_be32(nat[NFTA_NAT_FLAGS]).value_or(0);
  } else if (expr.name == "masq") {
    std::array<nlattr*, NFTA_MASQ_MAX + 1> masq{};
    if (!parse_attrs(data, masq, error)) {
      return false;
    }
    expr.flags = attr_be32(masq[NFTA_MASQ_FLAGS]).value_or(0);
  } else {
    std::array<nlattr*, NFTA_TARGET_MAX + 1> target{};
    if (!parse_attrs(data, target, error)) {
      return false;
    }
    if (const nlattr* name = target[NFTA_TARGET_NAME]) {
      expr.target_name = attr_string(name);
    }
    const std::uint32_t target_rev = attr_be32(target[NFTA_TARGET_REV]).value_or(0);
    const std::span<const std::uint8_t> target_info = target[NFTA_TARGET_INFO] != nullptr
                                                        ? attr_payload(target[NFTA_TARGET_INFO])
                                                        : std::span<const std::uint8_t>{};
    if (!target_info.empty()) {
      // xt target info is in host byte order. IPv4 revision 0 of SNAT/MASQUERADE uses
      // nf_nat_ipv4_multi_range_compat (rangesize, then the range's flags); everything newer
      // uses nf_nat_range*, whose first field is the flags.
      const bool compat = family == NFPROTO_IPV4 && target_rev == 0;
      expr.flags = host_u32_at(target_info, compat ? 4 : 0);
    }
  }
  return true;
}

const char* family_name(std::uint8_t family)
{
  switch (family) {
    case NFPROTO_IPV4:
      return "ip";
    case NFPROTO_IPV6:
      return "ip6";
    case NFPROTO_INET:
      return "inet";
    case NFPROTO_BRIDGE:
      return "bridge";
    case NFPROTO_ARP:
      return "arp";
    case NFPROTO_NETDEV:
      return "netdev";
    default:
      return "unknown";
  }
}

} // namespace

bool ConntrackTally::add(std::uint32_t status)
{
  if (m_scanned >= m_cap) {
    // One past the cap: now it is known that the table holds more than was counted.
    m_cap_hit = true;
    return false;
  }
  ++m_scanned;
  if ((status & IPS_SRC_NAT) != 0U) {
    ++m_snat;
  }
  if ((status & IPS_DST_NAT) != 0U) {
    ++m_dnat;
  }
  if (m_conclusive_snat > 0 && m_snat >= m_conclusive_snat) {
    m_conclusive = true;
    return false;
  }
  return true;
}

void ConntrackTally::fill(NatEvidence& evidence) const
{
  evidence.entries_scanned = m_scanned;
  evidence.snat_entries = m_snat;
  evidence.dnat_entries = m_dnat;
  evidence.cap = m_cap;
  evidence.cap_hit = m_cap_hit || m_conclusive;
}

std::optional<NftRule> decode_nft_rule(std::span<const std::uint8_t> attrs,
                                       std::uint8_t family,
                                       std::string& error)
{
  if (reinterpret_cast<std::uintptr_t>(attrs.data()) % NLA_ALIGNTO != 0) {
    // Netlink delivers attributes 4-byte aligned; a caller's unaligned copy is realigned first.
    std::vector<std::uint32_t> aligned((attrs.size() + 3) / 4);
    if (!attrs.empty()) {
      std::memcpy(aligned.data(), attrs.data(), attrs.size());
    }
    return decode_nft_rule(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(aligned.data()), attrs.size()),
      family,
      error);
  }
  NftRule rule;
  rule.family = family;
  std::array<nlattr*, NFTA_RULE_MAX + 1> top{};
  if (!parse_attrs(attrs, top, error)) {
    return std::nullopt;
  }
  if (const nlattr* table = top[NFTA_RULE_TABLE]) {
    rule.table = attr_string(table);
  }
  if (const nlattr* chain = top[NFTA_RULE_CHAIN]) {
    rule.chain = attr_string(chain);
  }
  if (const nlattr* list = top[NFTA_RULE_EXPRESSIONS]) {
    // A list of NFTA_LIST_ELEM, one per expression: every element has the same type, so it is
    // iterated rather than indexed.
    const std::span<const std::uint8_t> elems = attr_payload(list);
    if (!check_attrs(elems, error)) {
      return std::nullopt;
    }
    const nlattr* elem = nullptr;
    int remaining = 0;
    nla_for_each_attr(elem, first_attr(elems), static_cast<int>(elems.size()), remaining)
    {
      if (nla_type(elem) != NFTA_LIST_ELEM) {
        continue;
      }
      NftExpr expr;
      if (!decode_expr(attr_payload(elem), family, expr, error)) {
        return std::nullopt;
      }
      rule.exprs.push_back(std::move(expr));
    }
  }
  return rule;
}

NatRuleVerdict classify_nft_rule(const NftRule& rule)
{
  NatRuleVerdict verdict;
  std::string what;
  for (const NftExpr& expr : rule.exprs) {
    std::string kind;
    if (expr.name == "nat" && expr.nat_type == static_cast<std::uint32_t>(NFT_NAT_SNAT)) {
      kind = "snat";
    } else if (expr.name == "masq") {
      kind = "masquerade";
    } else if (expr.name == "target" && (expr.target_name == "SNAT" || expr.target_name == "MASQUERADE")) {
      kind = "xt " + expr.target_name;
    } else {
      continue;
    }
    verdict.source_nat = true;
    const bool fully = (expr.flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY) != 0U;
    verdict.random_fully = verdict.random_fully || fully;
    if (!what.empty()) {
      what += ", ";
    }
    // Each tool's own spelling, so the operator can grep its listing: nft says fully-random,
    // iptables (an xt target inside nft) --random-fully.
    if (fully) {
      kind += expr.name == "target" ? " --random-fully" : " fully-random";
    }
    what += kind;
  }
  if (verdict.source_nat) {
    verdict.description = std::string("nft ") + family_name(rule.family) + " " + printable(rule.table) + " " +
                          printable(rule.chain) + ": " + what;
  }
  return verdict;
}

bool legacy_nat_table_listed(std::string_view tables_names)
{
  for (const std::string_view line : split(tables_names, '\n')) {
    if (trim(line) == "nat") {
      return true;
    }
  }
  return false;
}

namespace {

struct SockDeleter
{
  void operator()(nl_sock* sk) const { nl_socket_free(sk); }
};
using SockPtr = std::unique_ptr<nl_sock, SockDeleter>;

struct MsgDeleter
{
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

// A NETLINK_NETFILTER socket with message peeking, so large messages are never truncated.
SockPtr netfilter_socket(int& nl_error)
{
  SockPtr sk(nl_socket_alloc());
  if (!sk) {
    nl_error = -NLE_NOMEM;
    return nullptr;
  }
  // A buffer larger than any dump skb (the kernel fills up to 32 KiB) makes peeking needless.
  nl_socket_disable_msg_peek(sk.get());
  nl_socket_set_msg_buf_size(sk.get(), 65536);
  nl_socket_disable_auto_ack(sk.get());
  nl_error = nfnl_connect(sk.get());
  if (nl_error < 0) {
    return nullptr;
  }
  return sk;
}

struct ConntrackContext
{
  ConntrackTally* tally = nullptr;
  int parse_errors = 0;
};

int on_conntrack(nl_msg* msg, void* arg)
{
  auto* ctx = static_cast<ConntrackContext*>(arg);
  // Only the status word is needed, so CTA_STATUS is read in place rather than building a
  // whole nfnl_ct object (with its allocations) per entry.
  nlattr* status = nlmsg_find_attr(nlmsg_hdr(msg), static_cast<int>(sizeof(nfgenmsg)), CTA_STATUS);
  if (status == nullptr || nla_len(status) < static_cast<int>(sizeof(std::uint32_t))) {
    ++ctx->parse_errors;
    return NL_SKIP;
  }
  const auto host_status = static_cast<std::uint32_t>(ntohl(nla_get_u32(status)));
  return ctx->tally->add(host_status) ? NL_OK : NL_STOP;
}

struct RuleContext
{
  NatEvidence* evidence = nullptr;
  std::uint64_t rules_seen = 0;
  std::string decode_error;
};

int on_rule(nl_msg* msg, void* arg)
{
  auto* ctx = static_cast<RuleContext*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (NFNL_SUBSYS_ID(hdr->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
      NFNL_MSG_TYPE(hdr->nlmsg_type) != NFT_MSG_NEWRULE) {
    return NL_SKIP;
  }
  const int len = nlmsg_datalen(hdr);
  if (len < static_cast<int>(sizeof(nfgenmsg))) {
    ctx->decode_error = "an NFT_MSG_NEWRULE message shorter than its header";
    return NL_SKIP;
  }
  const auto* base = static_cast<const std::uint8_t*>(nlmsg_data(hdr));
  const auto* gen = static_cast<const nfgenmsg*>(nlmsg_data(hdr));
  const std::span<const std::uint8_t> attrs(base + NLMSG_ALIGN(sizeof(nfgenmsg)),
                                            static_cast<std::size_t>(len) - NLMSG_ALIGN(sizeof(nfgenmsg)));
  ++ctx->rules_seen;
  std::string error;
  const auto rule = decode_nft_rule(attrs, gen->nfgen_family, error);
  if (!rule) {
    ctx->decode_error = error;
    return NL_SKIP;
  }
  const NatRuleVerdict verdict = classify_nft_rule(*rule);
  if (verdict.source_nat) {
    ctx->evidence->random_fully = ctx->evidence->random_fully || verdict.random_fully;
    if (ctx->evidence->nat_rules.size() < 100) { // descriptions bounded; the verdict is not
      ctx->evidence->nat_rules.push_back(verdict.description);
    }
  }
  return NL_OK;
}

std::string nl_text(int nl_error)
{
  return nl_geterror(nl_error);
}

} // namespace

void count_conntrack_nat(NatEvidence& evidence, std::uint64_t cap)
{
  ConntrackTally tally(cap);
  tally.fill(evidence);
  evidence.conntrack_available = false;
  int err = 0;
  SockPtr sk = netfilter_socket(err);
  if (!sk) {
    evidence.conntrack_note = "conntrack: netlink socket: " + nl_text(err);
    return;
  }
  if (cap == 0) {
    evidence.conntrack_note = "conntrack: not read (cap 0)";
    return;
  }
  ConntrackContext ctx;
  ctx.tally = &tally;
  nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, on_conntrack, &ctx);
  err = nfnl_ct_dump_request(sk.get());
  if (err >= 0) {
    // NL_STOP at the cap ends this call; closing the socket then abandons the rest of the dump.
    err = nl_recvmsgs_default(sk.get());
  }
  tally.fill(evidence);
  if (err < 0) {
    if (err == -NLE_PERM) {
      evidence.conntrack_note = "conntrack: permission denied (needs CAP_NET_ADMIN): no evidence";
    } else {
      evidence.conntrack_note = "conntrack: no conntrack table readable in this network namespace (" +
                                nl_text(err) + "; nf_conntrack or nf_conntrack_netlink absent?): no evidence";
    }
    return;
  }
  evidence.conntrack_available = true;
  if (ctx.parse_errors > 0) {
    evidence.conntrack_note =
      "conntrack: " + std::to_string(ctx.parse_errors) + " entries could not be parsed";
  }
  if (evidence.cap_hit) {
    if (!evidence.conntrack_note.empty()) {
      evidence.conntrack_note += "; ";
    }
    evidence.conntrack_note +=
      tally.stopped_conclusive()
        ? "conntrack: stopped after " + std::to_string(evidence.snat_entries) + " SNAT entries in " +
            std::to_string(evidence.entries_scanned) +
            " (conclusive evidence of source NAT): at least that many, counts are lower bounds"
        : "conntrack: stopped after " + std::to_string(evidence.entries_scanned) +
            " entries (the cap): NAT counts are lower bounds";
  }
}

void read_nat_rules(NatEvidence& evidence, const std::filesystem::path& proc_root)
{
  evidence.nat_rules.clear();
  evidence.random_fully = false;
  std::vector<std::string> notes;
  bool nft_read = false;

  int err = 0;
  SockPtr sk = netfilter_socket(err);
  if (sk) {
    MsgPtr msg(nfnlmsg_alloc_simple(NFNL_SUBSYS_NFTABLES, NFT_MSG_GETRULE, NLM_F_DUMP, AF_UNSPEC, 0));
    if (!msg) {
      err = -NLE_NOMEM;
    } else {
      RuleContext ctx;
      ctx.evidence = &evidence;
      nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, on_rule, &ctx);
      err = nl_send_auto(sk.get(), msg.get());
      if (err >= 0) {
        err = nl_recvmsgs_default(sk.get());
      }
      if (err >= 0) {
        nft_read = true;
        notes.push_back("nftables: " + std::to_string(ctx.rules_seen) + " rules read over netlink");
        if (!ctx.decode_error.empty()) {
          notes.push_back("nftables: a rule could not be decoded: " + ctx.decode_error);
        }
      }
    }
  }
  if (!nft_read) {
    notes.push_back(err == -NLE_PERM ? "nftables: permission denied (needs CAP_NET_ADMIN)"
                                     : "nftables: rules not readable (" + nl_text(err) + ")");
  }

  // Legacy iptables: only the table list is readable without the iptables ABI. A nat table
  // exists once anything used it, so this is weaker evidence than a rule.
  bool legacy_read = false;
  bool legacy_absent = true;
  bool legacy_nat = false;
  for (const char* name : { "net/ip_tables_names", "net/ip6_tables_names" }) {
    const std::filesystem::path path = proc_root / name;
    const ReadResult read = read_file(path);
    if (!read) {
      if (read.error() != ENOENT) {
        legacy_absent = false;
        notes.push_back(path.string() + ": " + errno_text(read.error()));
      }
      continue;
    }
    legacy_read = true;
    if (legacy_nat_table_listed(*read)) {
      legacy_nat = true;
      evidence.nat_rules.push_back("iptables-legacy: " + path.filename().string() +
                                   " lists a nat table (its rules are not read; weaker evidence)");
    }
  }
  if (!legacy_read && legacy_absent) {
    notes.push_back("iptables-legacy: no table list (ip_tables not loaded)");
  }

  if (!evidence.nat_rules.empty()) {
    evidence.nat_rules_present = true;
  } else if (nft_read) {
    evidence.nat_rules_present = legacy_nat;
  } else {
    evidence.nat_rules_present = std::nullopt;
  }
  evidence.nat_rules_note.clear();
  for (const std::string& note : notes) {
    if (!evidence.nat_rules_note.empty()) {
      evidence.nat_rules_note += "; ";
    }
    evidence.nat_rules_note += note;
  }
}

NatEvidence read_nat_evidence(const std::filesystem::path& proc_root, std::uint64_t cap)
{
  NatEvidence evidence;
  count_conntrack_nat(evidence, cap);
  read_nat_rules(evidence, proc_root);
  return evidence;
}

} // namespace tw
