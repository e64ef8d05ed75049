#include "facts/node.hpp"

#include "facts/census.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/probe.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>

namespace tw {

void require_netns_switching(const std::string& option)
{
  // setns into the namespace we are already in checks the same capability as any other.
  const UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) {
    throw Error(option, "/proc/thread-self/ns/net: " + errno_text(errno));
  }
  try {
    const NetnsSwitch probe(self.get(), option);
  } catch (const Error&) {
    throw Error(option,
                "needs root: entering each network namespace takes CAP_SYS_ADMIN. Without it, run "
                "`tw-advisor plan` inside one namespace (`nsenter -n -t PID`, `ip netns exec NAME`)");
  }
}

void for_each_netns(const std::function<void(NetnsInfo&)>& visit,
                    const std::function<void(const NetnsInfo&, const std::string&)>& skip,
                    std::vector<std::string>& notes)
{
  for (auto& info : list_netns(notes)) {
    const UniqueFd fd(::open(info.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      skip(info, info.path + ": " + errno_text(errno) + " (gone during the run)");
      continue;
    }
    struct stat st
    {};
    if (::fstat(fd.get(), &st) != 0 || st.st_ino != info.inode) {
      skip(info, info.path + " now names another namespace (the first one is gone)");
      continue;
    }
    try {
      const NetnsSwitch inside(fd.get(), "network namespace " + info.name);
      info.cookie = current_netns_cookie();
      visit(info);
    } catch (const Error& e) {
      skip(info, e.what());
    }
  }
}

NodeFacts gather_node(const GatherOptions& options)
{
  NodeFacts node;
  node.hostname = current_hostname();
  for_each_netns(
    [&](NetnsInfo& info) {
      GatherOptions here = options;
      here.netns = info;
      spdlog::debug("node: gathering {} ({})", info.name, info.inode);
      node.namespaces.push_back({ info, gather_facts(here), {} });
    },
    [&](const NetnsInfo& info, const std::string& why) {
      node.namespaces.push_back({ info, std::nullopt, why });
    },
    node.notes);
  return node;
}

NodeCensus census_node(std::size_t top_n, bool want_timestamps)
{
  NodeCensus node;
  node.hostname = current_hostname();
  for_each_netns(
    [&](NetnsInfo& info) {
      CensusOptions options = census_options_from(read_census_sysctls());
      options.top_n = top_n;
      options.want_timestamps = want_timestamps;
      SocketCensus census = take_census(options);
      if (!census.available) {
        node.namespaces.push_back({ info, std::nullopt, "socket census: " + census.error });
      } else {
        node.namespaces.push_back({ info, std::move(census), {} });
      }
    },
    [&](const NetnsInfo& info, const std::string& why) {
      node.namespaces.push_back({ info, std::nullopt, why });
    },
    node.notes);
  const auto pressure = [](const NamespaceCensus& c) {
    const DestGroup* top = c.census ? most_pressured(*c.census) : nullptr;
    return top != nullptr ? top->pressure : 0.0;
  };
  const auto time_wait = [](const NamespaceCensus& c) {
    return c.census ? c.census->states[static_cast<std::size_t>(TcpState::time_wait)] : 0;
  };
  std::stable_sort(node.namespaces.begin(), node.namespaces.end(), [&](const auto& a, const auto& b) {
    if (pressure(a) != pressure(b)) {
      return pressure(a) > pressure(b);
    }
    return time_wait(a) > time_wait(b);
  });
  return node;
}

} // namespace tw
