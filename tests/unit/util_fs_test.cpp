// read_file bounds what it reads; read_file_or_throw takes only regular files.
#include "util/error.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace tw::test {

namespace {

namespace fs = std::filesystem;

class FsTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_dir = fs::temp_directory_path() / ("tw-fs-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  static std::string error_of(const fs::path& p)
  {
    try {
      read_file_or_throw(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path m_dir;
};

TEST_F(FsTest, ProcFilesReportSizeZeroYetAreReadWhole)
{
  const auto r = read_file("/proc/self/status");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_NE(r->find("Name:"), std::string::npos);
  EXPECT_NE(r->find("Pid:"), std::string::npos);
}

TEST_F(FsTest, ReadingStopsAtTheByteLimit)
{
  const auto r = read_file("/dev/zero", 100000);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), EFBIG);
  const auto small = m_dir / "small";
  std::ofstream(small) << std::string(1000, 'x');
  const auto whole = read_file(small, 1000);
  ASSERT_TRUE(whole.ok()) << whole.error();
  EXPECT_EQ(*whole, std::string(1000, 'x'));
  EXPECT_EQ(read_file(small, 999).error(), EFBIG);
}

TEST_F(FsTest, UserInputsMustBeRegularFiles)
{
  EXPECT_NE(error_of("/dev/zero").find("/dev/zero: not a regular file"), std::string::npos)
    << error_of("/dev/zero");
  EXPECT_NE(error_of(m_dir).find("is a directory"), std::string::npos) << error_of(m_dir);
  const auto fifo = m_dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of(fifo).find("not a regular file"), std::string::npos) << error_of(fifo); // no hang
  EXPECT_NE(error_of(m_dir / "missing").find("No such file or directory"), std::string::npos);
}

TEST_F(FsTest, UserInputsAreCappedWithANamedError)
{
  const auto big = m_dir / "big.yaml";
  {
    std::ofstream out(big);
    out << std::string(k_max_file_bytes + 1, 'a');
  }
  EXPECT_NE(error_of(big).find("larger than 4 MiB"), std::string::npos) << error_of(big);
  const auto fits = m_dir / "fits.yaml";
  {
    std::ofstream out(fits);
    out << std::string(k_max_file_bytes, 'a');
  }
  EXPECT_EQ(read_file_or_throw(fits).size(), k_max_file_bytes);
}

} // namespace

} // namespace tw::test
