// Result (a value or a Failure) and UniqueFd (an fd closed on every path).
#include "util/fs.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>

namespace tw::test {
namespace {

bool fd_open(int fd)
{
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(UtilResult, HoldsAValueOrAFailureNeverBoth)
{
  const Result<std::string> good = std::string("1");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(static_cast<bool>(good));
  EXPECT_EQ(*good, "1");
  EXPECT_EQ(good->size(), 1u);
  EXPECT_EQ(good.error(), 0);

  const Result<std::string> bad = Failure{ ENOENT, "/proc/sys/x: No such file or directory" };
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), ENOENT);
  EXPECT_EQ(bad.failure().message, "/proc/sys/x: No such file or directory");
  EXPECT_THROW(static_cast<void>(*bad), std::bad_variant_access);
}

TEST(UtilResult, ReadFileSaysTheErrnoAsAFailure)
{
  const auto missing = read_file("/nonexistent/tw-advisor-test");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), ENOENT);
}

TEST(UtilUniqueFd, ClosesOnDestructionAndResetButNotAfterRelease)
{
  int raw = -1;
  {
    const UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    raw = fd.get();
    EXPECT_TRUE(fd_open(raw));
  }
  EXPECT_FALSE(fd_open(raw));

  UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  raw = a.get();
  UniqueFd b = std::move(a);
  EXPECT_FALSE(a.valid()); // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.get(), raw);
  b.reset();
  EXPECT_FALSE(fd_open(raw));

  UniqueFd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  raw = c.release();
  EXPECT_FALSE(c.valid());
  EXPECT_TRUE(fd_open(raw));
  UniqueFd d(raw);
  EXPECT_EQ(d.close(), 0);
  EXPECT_FALSE(fd_open(raw));
  EXPECT_EQ(d.close(), 0); // nothing held: nothing to report
}

TEST(UtilUniqueFd, ReadFdLeavesTheDescriptorOpen)
{
  const UniqueFd fd(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  const auto read = read_fd(fd.get());
  ASSERT_TRUE(read) << read.error();
  EXPECT_FALSE(read->empty());
  EXPECT_TRUE(fd_open(fd.get()));
}

} // namespace
} // namespace tw::test
