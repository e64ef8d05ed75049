#include "model/node.hpp"

namespace tw {

const char* to_string(SocketReader reader)
{
  switch (reader) {
    case SocketReader::automatic:
      return "auto";
    case SocketReader::bpf_walk:
      return "bpf-walk";
    case SocketReader::bpf_iter:
      return "bpf-iter";
    case SocketReader::sock_diag:
      return "sock-diag";
  }
  return "auto";
}

} // namespace tw
