#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tw {

// Why one item (a file, a key, a write) could not be had: the errno when a system call said so,
// and a message naming the path, the step and the cause when the producer has more to say.
struct Failure
{
  int error = 0;       // errno, 0 when the failure is not a system call's (a mismatch)
  std::string message; // path, step and cause; may be empty when error says it all
};

// The outcome of one expected, per-item operation: a value or a Failure, never both. Problems
// that are part of normal life (a missing sysctl on an older kernel, EACCES on one file, a write
// the kernel did not take) are values of this type; tw::Error is for stopping.
template<class T>
class Result
{
public:
  Result(T value) // NOLINT(google-explicit-constructor): a value converts, as in std::expected
    : m_state(std::in_place_index<0>, std::move(value))
  {
  }
  Result(Failure failure) // NOLINT(google-explicit-constructor)
    : m_state(std::in_place_index<1>, std::move(failure))
  {
  }

  // True when it holds a value.
  bool ok() const noexcept { return m_state.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The value; only when ok().
  const T& operator*() const& { return std::get<0>(m_state); }
  T& operator*() & { return std::get<0>(m_state); }
  T&& operator*() && { return std::get<0>(std::move(m_state)); }
  const T* operator->() const { return &std::get<0>(m_state); }

  // The failure; only when !ok().
  const Failure& failure() const { return std::get<1>(m_state); }
  // errno of the failure, 0 when ok() or not a system call's.
  int error() const noexcept
  {
    const auto* failure = std::get_if<1>(&m_state);
    return failure != nullptr ? failure->error : 0;
  }

private:
  std::variant<T, Failure> m_state;
};

} // namespace tw
