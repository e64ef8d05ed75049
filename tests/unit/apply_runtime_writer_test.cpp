#include "apply/runtime_writer.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tw {
namespace {

class RuntimeWriterTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_root = std::filesystem::temp_directory_path() / ("tw-runtime-" + std::to_string(::getpid()));
    std::filesystem::remove_all(m_root);
    std::filesystem::create_directories(m_root / "net/ipv4");
    std::ofstream(m_root / "net/ipv4/tcp_tw_reuse") << "2\n";
    std::ofstream(m_root / "outside") << "keep\n";
  }
  void TearDown() override { std::filesystem::remove_all(m_root); }
  std::string content(const std::string& rel) const
  {
    std::ifstream in(m_root / rel);
    return { std::istreambuf_iterator<char>(in), {} };
  }
  std::filesystem::path m_root;
};

TEST_F(RuntimeWriterTest, WritesAndVerifies)
{
  const auto w = write_runtime_key(m_root, "net.ipv4.tcp_tw_reuse", "1");
  ASSERT_TRUE(w.ok()) << w.failure().message;
  EXPECT_EQ(*w, "1");
  EXPECT_EQ(content("net/ipv4/tcp_tw_reuse"), "1\n");
}

TEST_F(RuntimeWriterTest, MissingKeyIsAnErrorValueNamingThePath)
{
  const auto w = write_runtime_key(m_root, "net.ipv4.tcp_nonexistent", "1");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(), ENOENT);
  EXPECT_NE(w.failure().message.find("tcp_nonexistent"), std::string::npos) << w.failure().message;
  EXPECT_NE(w.failure().message.find("No such file"), std::string::npos) << w.failure().message;
  EXPECT_FALSE(std::filesystem::exists(m_root / "net/ipv4/tcp_nonexistent"));
}

TEST_F(RuntimeWriterTest, NeverOpensTraversalKeysOrControlValues)
{
  EXPECT_FALSE(write_runtime_key(m_root / "net", "...outside", "x"));
  EXPECT_FALSE(write_runtime_key(m_root / "net/ipv4", "..", "x"));
  EXPECT_FALSE(write_runtime_key(m_root, "net/../outside", "x"));
  EXPECT_EQ(content("outside"), "keep\n");
  EXPECT_FALSE(write_runtime_key(m_root, "net.ipv4.tcp_tw_reuse", "1\nnet.ipv4.x=1"));
  EXPECT_EQ(content("net/ipv4/tcp_tw_reuse"), "2\n");
}

TEST(SysctlValueCompare, FoldsWhitespace)
{
  EXPECT_TRUE(same_sysctl_value("32768\t60999\n", "32768 60999"));
  EXPECT_TRUE(same_sysctl_value(" 1 ", "1"));
  EXPECT_TRUE(same_sysctl_value("1", "01")); // as the kernel reads it back, and as boot drift judges it
  EXPECT_FALSE(same_sysctl_value("1 2", "12"));
}

} // namespace
} // namespace tw
