#pragma once

#include <cerrno>
#include <unistd.h>

namespace tw {

// An owned file descriptor, closed on destruction: every early return and exception path closes
// it, so no reader or writer closes by hand.
class UniqueFd
{
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept
    : m_fd(fd)
  {
  }
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept
    : m_fd(other.release())
  {
  }
  UniqueFd& operator=(UniqueFd&& other) noexcept
  {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // The descriptor, still owned; -1 when none.
  int get() const noexcept { return m_fd; }
  // True when a descriptor is held.
  bool valid() const noexcept { return m_fd >= 0; }
  // Gives the descriptor up without closing it.
  int release() noexcept
  {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  // Closes the held descriptor (if any) and takes fd.
  void reset(int fd = -1) noexcept
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }
  // Closes now and reports the outcome: 0, or the errno of close() (which a writer must check:
  // NFS and full disks report write errors there).
  int close() noexcept
  {
    const int fd = release();
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

private:
  int m_fd = -1;
};

} // namespace tw
