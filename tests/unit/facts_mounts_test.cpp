// mountinfo lines (proc(5)) read for the cgroup v2 root (the probe's socket hooks) and for nsfs
// bind mounts (network namespaces).
#include "facts/mounts.hpp"

#include <gtest/gtest.h>

namespace tw {
namespace {

constexpr const char* k_mountinfo =
  "22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:13 - cgroup2 cgroup2 rw\n"
  "52 41 0:38 /system.slice /srv/part rw,relatime - cgroup2 cgroup2 rw\n"
  "60 25 0:4 net:[4026532290] /run/netns/my\\040ns rw shared:5 master:1 - nsfs nsfs rw\n"
  "61 25 0:4 net:[4026532291] /run/a\\134b\\011c rw - nsfs nsfs rw\n"
  "garbage without the separator\n"
  "70 1 0:50 / /short - cgroup2\n";

TEST(Mounts, OnlyTheAskedTypeInMountOrderWithRootAndMountPoint)
{
  const auto cgroups = mounts_of_type(k_mountinfo, "cgroup2");
  ASSERT_EQ(cgroups.size(), 3u);
  EXPECT_EQ(cgroups[0].root, "/");
  EXPECT_EQ(cgroups[0].mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(cgroups[0].fstype, "cgroup2");
  EXPECT_EQ(cgroups[1].root, "/system.slice");
  EXPECT_EQ(cgroups[1].mount_point, "/srv/part");
  EXPECT_EQ(cgroups[2].mount_point, "/short");
  EXPECT_TRUE(mounts_of_type(k_mountinfo, "cgroup").empty()) << "a prefix of the type is not the type";
  EXPECT_TRUE(mounts_of_type("", "nsfs").empty());
}

TEST(Mounts, OctalEscapesAreDecoded)
{
  const auto ns = mounts_of_type(k_mountinfo, "nsfs");
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].mount_point, "/run/netns/my ns");
  EXPECT_EQ(ns[0].root, "net:[4026532290]");
  EXPECT_EQ(ns[1].mount_point, "/run/a\\b\tc");
}

TEST(Mounts, ABackslashNotFollowedByThreeOctalDigitsStays)
{
  const auto m = mounts_of_type("1 1 0:1 / /a\\9x\\04 rw - tmpfs t rw\n", "tmpfs");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mount_point, "/a\\9x\\04");
}

} // namespace
} // namespace tw
