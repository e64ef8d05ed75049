#pragma once
// Netlink replies built byte by byte as the kernel lays them out, for the sock_diag decoder and
// census recording tests.

#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tw::test {

// The sequence number messages carry unless a test says otherwise.
inline constexpr std::uint32_t k_test_seq = 77;

// Builds netlink messages byte by byte, as the kernel lays them out.
class Bytes
{
public:
  // Appends one message: header, payload, attributes; returns *this.
  Bytes& message(std::uint16_t type,
                 const void* payload,
                 std::size_t len,
                 std::uint32_t seq = k_test_seq,
                 std::uint16_t flags = NLM_F_MULTI,
                 const std::vector<std::uint8_t>& attrs = {})
  {
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(NLMSG_ALIGN(len) + attrs.size()));
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    h.nlmsg_pid = 1234;
    append(&h, sizeof(h));
    append(payload, len);
    pad();
    m_data.insert(m_data.end(), attrs.begin(), attrs.end());
    pad();
    return *this;
  }
  const std::uint8_t* data() const { return m_data.data(); }
  std::size_t size() const { return m_data.size(); }
  const std::vector<std::uint8_t>& bytes() const { return m_data; }

private:
  void append(const void* p, std::size_t n)
  {
    const auto* b = static_cast<const std::uint8_t*>(p);
    m_data.insert(m_data.end(), b, b + n);
  }
  void pad() { m_data.resize(NLMSG_ALIGN(m_data.size()), 0); }
  std::vector<std::uint8_t> m_data;
};

// One socket as inet_diag_msg (bound to ifindex 3): addresses and ports as printed.
inline inet_diag_msg diag(int family,
                          std::uint8_t state,
                          const char* src,
                          std::uint16_t sport,
                          const char* dst,
                          std::uint16_t dport)
{
  inet_diag_msg m{};
  m.idiag_family = static_cast<std::uint8_t>(family);
  m.idiag_state = state;
  m.id.idiag_sport = htons(sport);
  m.id.idiag_dport = htons(dport);
  EXPECT_EQ(inet_pton(family, src, m.id.idiag_src), 1);
  EXPECT_EQ(inet_pton(family, dst, m.id.idiag_dst), 1);
  m.id.idiag_if = 3;
  return m;
}

// One netlink attribute, padded to 4 bytes.
inline std::vector<std::uint8_t> attr(std::uint16_t type, const void* payload, std::size_t len)
{
  constexpr std::size_t k_hdr = sizeof(nlattr); // 4, already aligned
  std::vector<std::uint8_t> out((k_hdr + len + 3) & ~std::size_t{ 3 }, 0);
  nlattr a{};
  a.nla_len = static_cast<std::uint16_t>(k_hdr + len);
  a.nla_type = type;
  std::memcpy(out.data(), &a, sizeof(a));
  std::memcpy(out.data() + k_hdr, payload, len);
  return out;
}

} // namespace tw::test
