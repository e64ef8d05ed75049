// Reading a BPF iterator's records: the TCP iterator (facts/ehash_walk) and the socket owner
// iterator (facts/owners_iter) hand over fixed-size records through read().
#include "facts/bpf_iter.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace tw {

std::string read_iter_records(int iter_fd,
                              std::size_t record_size,
                              std::string_view what,
                              const std::function<void(const void* record)>& each)
{
  std::vector<char> buffer(std::size_t{ 64 } * 1024);
  std::size_t held = 0;
  for (;;) {
    const ssize_t n = ::read(iter_fd, buffer.data() + held, buffer.size() - held);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return "reading " + std::string(what) + ": " + errno_text(errno);
    }
    if (n == 0) {
      break;
    }
    held += static_cast<std::size_t>(n);
    const std::size_t whole = held / record_size;
    for (std::size_t i = 0; i < whole; ++i) {
      each(buffer.data() + i * record_size);
    }
    const std::size_t used = whole * record_size;
    std::memmove(buffer.data(), buffer.data() + used, held - used);
    held -= used;
  }
  if (held != 0) {
    return std::string(what) + " ended inside a record (" + std::to_string(held) + " bytes left)";
  }
  return {};
}

} // namespace tw
