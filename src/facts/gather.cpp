#include "facts/gather.hpp"

#include "facts/boot.hpp"
#include "facts/census.hpp"
#include "facts/host.hpp"
#include "facts/netns.hpp"
#include "facts/probe.hpp"
#include "facts/sysctl_reader.hpp"
#include "state/history.hpp"
#include "state/journal.hpp"
#include "util/clock.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

namespace tw {

Facts gather_facts(const GatherOptions& options)
{
  Facts facts;
  // HostInfo has no notes field: an unreadable namespace shows as netns_inode 0, a failed uname
  // as an empty kernel_release; the notes are logged at -v and not kept.
  std::vector<std::string> host_notes;
  facts.host = read_host_info(options.proc_root, host_notes);
  spdlog::debug(
    "host {} kernel {} netns {}", facts.host.hostname, facts.host.kernel_release, facts.host.netns_inode);
  for (const auto& note : host_notes) {
    spdlog::debug("host: {}", note);
  }
  // Unknown (not root: the host's inode is unreadable) stays unknown: no claim either way.
  const std::optional<NetnsInfo> netns =
    options.netns ? options.netns : identify_netns(facts.host.netns_inode);
  if (netns) {
    facts.host.netns_kind = to_string(netns->kind);
    facts.host.netns_name = netns->name;
  }

  auto start = std::chrono::steady_clock::now();
  facts.sysctls = read_sysctls(options.proc_root / "sys");
  std::size_t unread = 0;
  for (const auto& [key, value] : facts.sysctls.values) {
    unread += value.status == ReadStatus::ok ? 0 : 1;
    spdlog::trace("sysctl {} = {} ({})", key, value.value, to_string(value.status));
  }
  spdlog::debug("sysctls: {} read, {} not readable or absent, {:.1f} ms",
                facts.sysctls.values.size() - unread,
                unread,
                ms_since(start));

  start = std::chrono::steady_clock::now();
  const ReadCountersFn read = [&options]() { return read_counters(options.proc_root); };
  if (options.window) {
    facts.counters = read();
    facts.rates = sample_rates(options.window->before, facts.counters, options.window->seconds);
    facts.evidence = options.window->evidence;
  } else if (options.sample_seconds > 0.0) {
    // The probe watches exactly the counters' window, and is detached before the census.
    std::optional<EvidenceProbe> probe;
    if (options.probe) {
      probe.emplace(ProbeOptions{});
      spdlog::debug("probe: {} ({:.1f} ms)", probe->reason(), probe->load_ms());
    }
    spdlog::debug("counters: sampling over {} s", options.sample_seconds);
    // The window's sleep is cut in steps: outbound ESTABLISHED per destination is counted at each.
    const SleepFn counting = [&facts, &options](std::chrono::milliseconds total) {
      facts.established = watch_established(total, options.sleep, options.count_established);
    };
    facts.rates = sample_counters(read, options.sample_seconds, counting, facts.counters);
    spdlog::debug("established: {} destinations counted at {} points, {} gained{}",
                  facts.established.destinations_counted,
                  facts.established.at_seconds.size(),
                  facts.established.destinations.size(),
                  facts.established.error.empty() ? "" : ", not measured: " + facts.established.error);
    facts.evidence = probe ? probe->collect(options.sample_seconds) : counters_evidence("--no-probe");
  } else {
    facts.counters = read();
    facts.evidence =
      counters_evidence(options.probe ? "symptom evidence needs a live window: --sample N" : "--no-probe");
  }
  spdlog::debug("counters: {} values{}{}, {:.1f} ms",
                facts.counters.values.size(),
                facts.counters.available ? "" : ", unavailable: ",
                facts.counters.error,
                ms_since(start));

  start = std::chrono::steady_clock::now();
  facts.nat = read_nat_evidence(options.proc_root, options.conntrack_cap);
  spdlog::debug("nat: conntrack {} ({} entries scanned, {} snat{}), rules {} ({}), {:.1f} ms",
                facts.nat.conntrack_available ? "read" : "not read",
                facts.nat.entries_scanned,
                facts.nat.snat_entries,
                facts.nat.cap_hit ? ", cap hit" : "",
                facts.nat.nat_rules_present ? (*facts.nat.nat_rules_present ? "present" : "none") : "unknown",
                facts.nat.nat_rules_note,
                ms_since(start));

  start = std::chrono::steady_clock::now();
  if (options.census) {
    facts.sockets = *options.census;
  } else {
    CensusOptions census = census_options_from(facts.sysctls);
    census.attribute_owners = options.attribute_owners;
    census.owners_off = "not asked for (the monitor exports no owners)";
    census.proc_root = options.proc_root;
    facts.sockets = take_census(census);
  }
  const ProcessAttribution& owners = facts.sockets.processes;
  spdlog::debug(
    "owners: {} of {} sockets in {} processes ({} fd tables, {} fds, {} vanished, {} unreadable), "
    "{}, {:.1f} ms{}{}",
    owners.sockets_found,
    owners.sockets_wanted,
    owners.process_count,
    owners.processes_scanned,
    owners.fds_scanned,
    owners.processes_vanished,
    owners.processes_unreadable,
    owners.reader,
    owners.walk_ms,
    owners.walked ? "" : ": " + owners.reason,
    owners.reader_note.empty() ? "" : " (not bpf-iter: " + owners.reader_note + ")");
  spdlog::debug("census: {} sockets, {} destination groups{}, {:.1f} ms{}{}",
                facts.sockets.total,
                facts.sockets.group_count,
                facts.sockets.groups_truncated ? " (truncated)" : "",
                ms_since(start),
                facts.sockets.available ? "" : ", unavailable: ",
                facts.sockets.error);
  // /etc/sysctl.d is the host namespace's boot configuration; an explicit tree is the caller's.
  const bool boot_applies = !netns || netns->kind == NetnsKind::host || !is_host_tree(options.root);
  if (options.read_boot && boot_applies) {
    start = std::chrono::steady_clock::now();
    facts.boot = read_boot_facts(options.root, options.state_dir, facts.sysctls, options.boot_keys);
    spdlog::debug("gather: sysctl.d and apply state {} ms", ms_since(start));
  }
  // Another namespace starts from the kernel's defaults and what its container runtime sets.
  if (options.read_boot && netns && netns->kind != NetnsKind::host && facts.host.netns_inode != 0) {
    start = std::chrono::steady_clock::now();
    const auto bundles =
      options.oci_bundles
        ? options.oci_bundles
        : std::make_shared<const OciBundles>(read_oci_bundles(options.root, options.proc_root));
    facts.namespace_boot = namespace_boot_facts(*bundles, facts.host.netns_inode, options.boot_keys);
    spdlog::debug("gather: {} runtime bundles, {} in this namespace, {} claims, {:.1f} ms",
                  bundles->bundles.size(),
                  facts.namespace_boot->containers.size(),
                  facts.namespace_boot->tuners.size(),
                  ms_since(start));
  }
  if (options.history_since_seconds) {
    const auto path = resolve_state_dir(options.root, options.state_dir) / k_history_file;
    facts.history = read_history(path, *options.history_since_seconds, unix_now(), facts.host.netns_inode);
    spdlog::debug("gather: history {}: {} intervals, {} peaks{}",
                  path.string(),
                  facts.history->records,
                  facts.history->peaks.size(),
                  facts.history->available ? "" : ", unavailable: " + facts.history->error);
  }
  return facts;
}

} // namespace tw
