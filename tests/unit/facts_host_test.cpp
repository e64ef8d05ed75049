#include "facts/host.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace tw {
namespace {

TEST(FactsHost, KernelReleaseAndHostnameMatchUname)
{
  struct utsname uts
  {};
  ASSERT_EQ(::uname(&uts), 0);
  std::vector<std::string> notes;
  const HostInfo host = read_host_info("/proc", notes);
  EXPECT_EQ(host.kernel_release, uts.release);
  EXPECT_EQ(host.hostname, uts.nodename);
  EXPECT_FALSE(host.kernel_release.empty());
}

TEST(FactsHost, NetnsInodeIsTheInodeOfTheNamespaceLink)
{
  struct stat st
  {};
  ASSERT_EQ(::stat("/proc/self/ns/net", &st), 0) << "this test needs /proc";
  std::vector<std::string> notes;
  const HostInfo host = read_host_info("/proc", notes);
  EXPECT_EQ(host.netns_inode, static_cast<std::uint64_t>(st.st_ino));
  EXPECT_NE(host.netns_inode, 0U);
  EXPECT_TRUE(notes.empty());
}

TEST(FactsHost, UnreadableNamespaceIsANoteAndZero)
{
  std::vector<std::string> notes;
  const HostInfo host = read_host_info("/nonexistent-proc-root", notes);
  EXPECT_EQ(host.netns_inode, 0U);
  ASSERT_EQ(notes.size(), 1U);
  EXPECT_NE(notes[0].find("/nonexistent-proc-root/self/ns/net: No such file or directory"), std::string::npos)
    << notes[0];
  int error = 0;
  EXPECT_FALSE(namespace_inode("/nonexistent-proc-root/self/ns/net", error).has_value());
  EXPECT_EQ(error, ENOENT);
}

} // namespace
} // namespace tw
