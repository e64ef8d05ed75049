// Reading a BPF iterator's fixed-size records through read(): a pipe stands in for the iterator,
// fed in pieces that split records across reads.
#include "facts/bpf_iter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tw::test {
namespace {

struct Record
{
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint64_t c = 0;
};

// Writes bytes into a pipe in chunks of `chunk` from a thread; returns the read end.
int feed(std::vector<char> bytes, std::size_t chunk, std::thread& writer)
{
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  writer = std::thread([fd = fds[1], bytes = std::move(bytes), chunk] {
    for (std::size_t at = 0; at < bytes.size(); at += chunk) {
      const std::size_t n = std::min(chunk, bytes.size() - at);
      EXPECT_EQ(::write(fd, bytes.data() + at, n), static_cast<ssize_t>(n));
    }
    ::close(fd);
  });
  return fds[0];
}

TEST(FactsBpfIter, RecordsSplitAcrossReadsComeWholeAndInOrder)
{
  std::vector<char> bytes;
  for (std::uint64_t i = 0; i < 5000; ++i) { // 120,000 bytes: reads of 64 KiB split records
    const Record r{ i, i * 2, i * 3 };
    const auto* p = reinterpret_cast<const char*>(&r); // NOLINT: the bytes of a plain record
    bytes.insert(bytes.end(), p, p + sizeof(r));
  }
  std::thread writer;
  const int fd = feed(bytes, 1000, writer);
  std::vector<Record> got;
  const std::string error =
    read_iter_records(fd, sizeof(Record), "the test iterator", [&got](const void* rec) {
      Record r;
      std::memcpy(&r, rec, sizeof(r));
      got.push_back(r);
    });
  writer.join();
  ::close(fd);
  EXPECT_EQ(error, "");
  ASSERT_EQ(got.size(), 5000U);
  for (std::uint64_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].a, i);
    ASSERT_EQ(got[i].c, i * 3);
  }
}

TEST(FactsBpfIter, ATrailingPartOfARecordIsAnErrorThatNamesTheIterator)
{
  std::thread writer;
  const int fd = feed(std::vector<char>(sizeof(Record) * 2 + 5, 'x'), 7, writer);
  std::size_t records = 0;
  const std::string error =
    read_iter_records(fd, sizeof(Record), "the test iterator", [&records](const void*) { ++records; });
  writer.join();
  ::close(fd);
  EXPECT_EQ(records, 2U);
  EXPECT_EQ(error, "the test iterator ended inside a record (5 bytes left)");
  EXPECT_NE(read_iter_records(-1, sizeof(Record), "the test iterator", [](const void*) {})
              .find("reading the test iterator: "),
            std::string::npos);
}

} // namespace
} // namespace tw::test
