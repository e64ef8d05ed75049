#include "util/durable_fs.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tw {
namespace {

class DurableFsTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_dir = std::filesystem::temp_directory_path() / ("tw-durable-" + std::to_string(::getpid()));
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir / "d");
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  std::vector<std::string> listing() const
  {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(m_dir / "d")) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::filesystem::path m_dir;
};

TEST_F(DurableFsTest, AtomicWriteCreatesReplacesAndLeavesNoTemp)
{
  const Dir d = Dir::open(m_dir / "d");
  write_file_atomically(d, "f.conf", ".f.tmp", "one\n", 0644);
  auto c = read_file_at(d, "f.conf");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->bytes, "one\n");
  EXPECT_EQ(c->mode, 0644u);
  write_file_atomically(d, "f.conf", ".f.tmp", "two\n", 0600);
  c = read_file_at(d, "f.conf");
  EXPECT_EQ(c->bytes, "two\n");
  EXPECT_EQ(c->mode, 0600u);
  EXPECT_EQ(listing(), std::vector<std::string>{ "f.conf" });
}

TEST_F(DurableFsTest, LeftoverTempIsReplacedNotAppended)
{
  std::ofstream(m_dir / "d/.f.tmp") << "garbage from a crash";
  const Dir d = Dir::open(m_dir / "d");
  write_file_atomically(d, "f.conf", ".f.tmp", "new\n", 0644);
  EXPECT_EQ(read_file_at(d, "f.conf")->bytes, "new\n");
  EXPECT_EQ(listing(), std::vector<std::string>{ "f.conf" });
}

TEST_F(DurableFsTest, BeforeRenameSeesTempButNotTarget)
{
  const Dir d = Dir::open(m_dir / "d");
  bool called = false;
  write_file_atomically(d, "f.conf", ".f.tmp", "x\n", 0644, [&] {
    called = true;
    EXPECT_TRUE(exists_at(d, ".f.tmp"));
    EXPECT_FALSE(exists_at(d, "f.conf"));
  });
  EXPECT_TRUE(called);
}

TEST_F(DurableFsTest, FailedRenameRemovesTemp)
{
  std::filesystem::create_directories(m_dir /
                                      "d/f.conf/inner"); // a non-empty directory cannot be renamed over
  const Dir d = Dir::open(m_dir / "d");
  EXPECT_THROW(write_file_atomically(d, "f.conf", ".f.tmp", "x\n", 0644), Error);
  EXPECT_FALSE(exists_at(d, ".f.tmp"));
}

TEST_F(DurableFsTest, ReadRefusesSymlinksAndReportsAbsence)
{
  std::ofstream(m_dir / "target") << "secret";
  std::filesystem::create_symlink(m_dir / "target", m_dir / "d/link.conf");
  const Dir d = Dir::open(m_dir / "d");
  EXPECT_THROW(read_file_at(d, "link.conf"), Error);
  EXPECT_FALSE(read_file_at(d, "missing.conf").has_value());
  remove_file_durably(d, "missing.conf"); // absent is fine
  remove_file_durably(d, "link.conf");
  EXPECT_TRUE(std::filesystem::exists(m_dir / "target"));
}

TEST_F(DurableFsTest, StateDirIsCreated0700AndSymlinksRefused)
{
  const auto state = m_dir / "var/lib/tw-advisor";
  {
    const Dir s = open_state_dir(state);
  }
  struct stat st
  {};
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  {
    const Dir again = open_state_dir(state);
  } // existing is fine

  std::filesystem::create_directories(m_dir / "elsewhere");
  ::chmod((m_dir / "elsewhere").c_str(), 0700);
  std::filesystem::create_directory_symlink(m_dir / "elsewhere", m_dir / "linked");
  EXPECT_THROW(open_state_dir(m_dir / "linked"), Error);

  std::filesystem::create_directories(m_dir / "open");
  ::chmod((m_dir / "open").c_str(), 0777);
  try {
    open_state_dir(m_dir / "open");
    FAIL() << "accepted a world-writable state dir";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0777"), std::string::npos) << e.what();
  }
  std::filesystem::create_directories(m_dir / "other");
  ::chmod((m_dir / "other").c_str(), 0700);
  if (::geteuid() == 0 && ::chown((m_dir / "other").c_str(), 65534, 65534) == 0) {
    EXPECT_THROW(open_state_dir(m_dir / "other"), Error);
  }
}

TEST_F(DurableFsTest, ReadableStateDirIsTightenedOnlyWhenAsked)
{
  std::filesystem::create_directories(m_dir / "loose");
  ::chmod((m_dir / "loose").c_str(), 0755);
  struct stat st
  {};
  {
    const Dir d = open_state_dir(m_dir / "loose", false);
  }
  ASSERT_EQ(::stat((m_dir / "loose").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  {
    const Dir d = open_state_dir(m_dir / "loose");
  }
  ASSERT_EQ(::stat((m_dir / "loose").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(DurableFsTest, SecondLockNamesTheHolder)
{
  const Dir s = open_state_dir(m_dir / "state");
  EXPECT_FALSE(state_lock_held(s));
  // flock locks belong to the open file description, so another open in this process conflicts too;
  // a child process makes it the real two-process case.
  const StateLock first(s, "tw-advisor apply --yes");
  EXPECT_TRUE(state_lock_held(s));
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      const Dir again = open_state_dir(m_dir / "state");
      const StateLock second(again, "second");
      _exit(0);
    } catch (const Error& e) {
      const std::string what = e.what();
      const bool ok = what.find("pid " + std::to_string(::getppid())) != std::string::npos &&
                      what.find("tw-advisor apply --yes") != std::string::npos;
      _exit(ok ? 3 : 4);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3) << "0: second lock taken; 4: message did not name the holder";
}

TEST_F(DurableFsTest, LockIsReleasedWithTheHolder)
{
  const Dir s = open_state_dir(m_dir / "state");
  {
    const StateLock first(s, "one");
  }
  EXPECT_FALSE(state_lock_held(s));
  const StateLock second(s, "two");
  EXPECT_TRUE(state_lock_held(s));
}

} // namespace
} // namespace tw
