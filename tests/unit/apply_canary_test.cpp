#include "apply/canary.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace tw {
namespace {

std::string fake_machine_id(int i)
{
  // 32 hex digits like /etc/machine-id, different for each i.
  return sha256_hex("host-" + std::to_string(i)).substr(0, 32);
}

TEST(Sha256, KnownVectors)
{
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding needs a second block.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000, 'a')),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
  // FIPS 180-4's long vector, and bytes of every value (NULs inside the view are data).
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  std::string all_bytes;
  for (int round = 0; round < 300; ++round) {
    for (int b = 0; b < 256; ++b) {
      all_bytes.push_back(static_cast<char>(b));
    }
  }
  EXPECT_EQ(sha256_hex(all_bytes), "f8b0585eb91f58c007a5634362c9f90d8543822c113f702523bc7b73408a9392");
  const auto raw = sha256("abc");
  EXPECT_EQ(raw[0], 0xbaU);
  EXPECT_EQ(raw[31], 0xadU);
}

TEST(Canary, BucketIsStableAndInRange)
{
  for (int i = 0; i < 200; ++i) {
    const auto id = fake_machine_id(i);
    const auto b = canary_bucket(id);
    EXPECT_LT(b, k_canary_buckets);
    EXPECT_EQ(b, canary_bucket(id));
  }
  // Pinned: a change of the hashing scheme would reshuffle every fleet's cohorts.
  EXPECT_EQ(canary_bucket("0123456789abcdef0123456789abcdef"),
            canary_bucket("0123456789abcdef0123456789abcdef"));
  EXPECT_NE(canary_bucket("a"), canary_bucket("b"));
  // The buckets themselves, computed independently (Python's hashlib): first 8 bytes of
  // SHA-256("tw-advisor-canary:" + id), big-endian, modulo 10000. Any change of the hash
  // implementation must keep every host in its cohort.
  EXPECT_EQ(canary_bucket("0123456789abcdef0123456789abcdef"), 8852U);
  EXPECT_EQ(canary_bucket("a"), 9888U);
  EXPECT_EQ(canary_bucket("b"), 7882U);
  EXPECT_EQ(canary_bucket(""), 1781U);
}

TEST(Canary, ThresholdEdges)
{
  EXPECT_EQ(canary_threshold(0.0), 0u);
  EXPECT_EQ(canary_threshold(-5.0), 0u);
  EXPECT_EQ(canary_threshold(100.0), 10000u);
  EXPECT_EQ(canary_threshold(250.0), 10000u);
  EXPECT_EQ(canary_threshold(12.34), 1234u);
  EXPECT_EQ(canary_threshold(0.01), 1u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(canary_selected(fake_machine_id(i), 0.0));
    EXPECT_TRUE(canary_selected(fake_machine_id(i), 100.0));
  }
}

TEST(Canary, LargerPercentOnlyAddsHosts)
{
  constexpr int k_hosts = 5000;
  std::set<int> previous;
  for (const double percent : { 0.5, 1.0, 5.0, 10.0, 12.5, 25.0, 50.0, 75.0, 99.99, 100.0 }) {
    std::set<int> selected;
    for (int i = 0; i < k_hosts; ++i) {
      if (canary_selected(fake_machine_id(i), percent)) {
        selected.insert(i);
      }
    }
    for (const int host : previous) {
      EXPECT_TRUE(selected.count(host) == 1) << "host " << host << " dropped at " << percent << "%";
    }
    // Roughly the asked share: within 3 points on 5000 hosts.
    const double share = 100.0 * static_cast<double>(selected.size()) / k_hosts;
    EXPECT_NEAR(share, percent, 3.0) << percent;
    previous = selected;
  }
}

TEST(Canary, SamePercentSameHostsEveryRun)
{
  std::vector<bool> first;
  first.reserve(1000);
  for (int i = 0; i < 1000; ++i) {
    first.push_back(canary_selected(fake_machine_id(i), 20.0));
  }
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(first[static_cast<std::size_t>(i)], canary_selected(fake_machine_id(i), 20.0));
  }
}

TEST(Canary, ReadsMachineIdUnderRoot)
{
  const auto root = std::filesystem::temp_directory_path() / ("tw-canary-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "etc");
  EXPECT_THROW(read_host_id(root), Error);
  std::ofstream(root / "etc/machine-id") << "  \n";
  EXPECT_THROW(read_host_id(root), Error);
  std::ofstream(root / "etc/machine-id") << "0123456789abcdef0123456789abcdef\n";
  EXPECT_EQ(read_host_id(root), "0123456789abcdef0123456789abcdef");
  std::filesystem::remove_all(root);
}

} // namespace
} // namespace tw
