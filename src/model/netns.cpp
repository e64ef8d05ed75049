#include "model/netns.hpp"

namespace tw {

const char* to_string(NetnsKind kind)
{
  switch (kind) {
    case NetnsKind::host:
      return "host";
    case NetnsKind::named:
      return "named";
    case NetnsKind::container:
      return "container";
    case NetnsKind::process:
      return "process";
  }
  return "process";
}

} // namespace tw
