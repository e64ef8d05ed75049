#include "apply/failpoint.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace tw {

const std::vector<std::string>& failpoint_names()
{
  static const std::vector<std::string> k_names = {
    "after-journal", "mid-runtime", "after-runtime", "mid-persist", "after-persist",
  };
  return k_names;
}

void check_failpoint_env()
{
  const char* value = std::getenv(k_failpoint_env);
  if (value == nullptr || *value == '\0') {
    return;
  }
  const auto& names = failpoint_names();
  if (std::find(names.begin(), names.end(), value) == names.end()) {
    std::string known;
    for (const auto& name : names) {
      known += (known.empty() ? "" : ", ") + name;
    }
    throw Error(std::string(k_failpoint_env) + "=" + printable(value), "not a failpoint; known: " + known);
  }
}

void failpoint(const char* name)
{
  const char* value = std::getenv(k_failpoint_env);
  if (value == nullptr || std::strcmp(value, name) != 0) {
    return;
  }
  std::fprintf(stderr, "tw-advisor: failpoint %s: killing myself with SIGKILL\n", name);
  std::fflush(nullptr);
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

} // namespace tw
