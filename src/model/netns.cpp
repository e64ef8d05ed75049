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

std::string netns_spec(const NetnsInfo& info)
{
  if (info.kind == NetnsKind::named && info.name.find('/') == std::string::npos) {
    return info.name;
  }
  return info.pid != 0 ? std::to_string(info.pid) : info.path;
}

} // namespace tw
