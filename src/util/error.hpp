#pragma once

#include <stdexcept>
#include <string>

namespace tw {

// The one "stop and explain" error: main prints "tw-advisor: error: <what>: <why>" and exits 1.
class Error : public std::runtime_error
{
public:
  // what: the thing that failed (names the key, file:line or path); why: the cause.
  Error(std::string what, std::string why);

  // The thing that failed.
  const std::string& subject() const { return m_what; }
  // The cause.
  const std::string& reason() const { return m_why; }

private:
  std::string m_what;
  std::string m_why;
};

// Another tw-advisor apply or rollback holds the lock on the same target: nothing was done, and
// trying again later is right. Its own exit code, so automation can retry without reading text.
class LockHeld : public Error
{
public:
  using Error::Error;
};

// The exit code of a held lock (apply, rollback).
inline constexpr int k_exit_locked = 4;

// strerror(errnum) as a std::string, thread-safe.
std::string errno_text(int errnum);

} // namespace tw
