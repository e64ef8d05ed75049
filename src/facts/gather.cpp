#include "facts/gather.hpp"

#include "facts/census.hpp"
#include "facts/host.hpp"
#include "facts/sysctl_reader.hpp"

namespace tw {

Facts gather_facts(const GatherOptions& options)
{
  Facts facts;
  // HostInfo has no notes field: an unreadable namespace shows as netns_inode 0, a failed uname
  // as an empty kernel_release; the notes themselves are dropped here.
  std::vector<std::string> host_notes;
  facts.host = read_host_info(options.proc_root, host_notes);
  facts.sysctls = read_sysctls(options.proc_root / "sys");

  const ReadCountersFn read = [&options]() { return read_counters(options.proc_root); };
  if (options.sample_seconds > 0.0) {
    facts.rates = sample_counters(read, options.sample_seconds, options.sleep, facts.counters);
  } else {
    facts.counters = read();
  }

  facts.nat = read_nat_evidence(options.proc_root, options.conntrack_cap);
  facts.sockets = take_census(census_options_from(facts.sysctls));
  return facts;
}

} // namespace tw
