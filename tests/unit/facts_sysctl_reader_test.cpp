#include "facts/sysctl_reader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {
namespace {

class SysctlReaderTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_root = std::filesystem::temp_directory_path() / ("tw-sysctl-" + std::to_string(::getpid()));
    std::filesystem::create_directories(m_root / "net/ipv4");
  }
  void TearDown() override { std::filesystem::remove_all(m_root); }
  void write(const std::string& rel, const std::string& content) { std::ofstream(m_root / rel) << content; }
  std::filesystem::path m_root;
};

TEST_F(SysctlReaderTest, ReadsAndFoldsWhitespace)
{
  write("net/ipv4/ip_local_port_range", "32768\t60999\n");
  const auto v = read_sysctl(m_root, "net.ipv4.ip_local_port_range");
  EXPECT_EQ(v.status, ReadStatus::ok);
  EXPECT_EQ(v.value, "32768 60999");
}

TEST_F(SysctlReaderTest, MissingKeyIsAbsentNotAnError)
{
  const auto v = read_sysctl(m_root, "net.ipv4.tcp_tw_recycle");
  EXPECT_EQ(v.status, ReadStatus::absent);
  EXPECT_NE(v.detail.find("tcp_tw_recycle"), std::string::npos);
}

TEST_F(SysctlReaderTest, UnreadableKeyIsDeniedPerKey)
{
  if (::geteuid() == 0) {
    // root reads a 0000 file anyway; a directory in place of the file gives a per-key error instead.
    std::filesystem::create_directories(m_root / "net/ipv4/tcp_timestamps");
    const auto v = read_sysctl(m_root, "net.ipv4.tcp_timestamps");
    EXPECT_EQ(v.status, ReadStatus::error);
    return;
  }
  write("net/ipv4/tcp_timestamps", "1\n");
  ::chmod((m_root / "net/ipv4/tcp_timestamps").c_str(), 0);
  const auto v = read_sysctl(m_root, "net.ipv4.tcp_timestamps");
  EXPECT_EQ(v.status, ReadStatus::denied);
}

TEST_F(SysctlReaderTest, TraversalKeysAreRefused)
{
  EXPECT_FALSE(sysctl_path(m_root, "net.ipv4...etc").has_value());
  EXPECT_FALSE(sysctl_path(m_root, "net/../../etc/passwd").has_value());
  EXPECT_FALSE(sysctl_path(m_root, "net.ipv4.tcp_tw_reuse\n").has_value());
  EXPECT_EQ(read_sysctl(m_root, "..").status, ReadStatus::error);
}

TEST_F(SysctlReaderTest, ReadsTheRealKernel)
{
  const auto all = read_sysctls();
  const auto reuse = all.get_int("net.ipv4.tcp_tw_reuse");
  ASSERT_TRUE(reuse.has_value());
  EXPECT_GE(*reuse, 0);
  EXPECT_LE(*reuse, 2);
  EXPECT_EQ(all.find("net.ipv4.tcp_tw_recycle")->status, ReadStatus::absent);
}

} // namespace
} // namespace tw
