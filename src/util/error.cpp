#include "util/error.hpp"

#include <cstring>

namespace tw {

Error::Error(std::string what, std::string why)
  : std::runtime_error(what + ": " + why)
  , m_what(std::move(what))
  , m_why(std::move(why))
{
}

std::string errno_text(int errnum)
{
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  const char* text = strerror_r(errnum, buf, sizeof(buf));
  return text;
}

} // namespace tw
