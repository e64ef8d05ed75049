#pragma once

#include "model/boot.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// The [sysctl] settings of a TuneD profile file (tuned.conf), with their line numbers, and the
// profiles its [main] include= names. Keys are canonical (dotted); unparsable lines are skipped
// (TuneD skips them too).
struct TunedProfile
{
  std::vector<std::string> includes;
  struct Setting
  {
    std::string key;
    std::string value;
    unsigned line = 0;
  };
  std::vector<Setting> sysctl;
};
TunedProfile parse_tuned_conf(std::string_view text);

// Which of `keys` the TuneD profile active under root sets (/etc/tuned/active_profile, each profile
// found in /etc/tuned or /usr/lib/tuned, includes followed, a later profile winning), and what
// TuneD does with them: with reapply_sysctl = 1 (the default, /etc/tuned/tuned-main.conf) it
// re-applies /etc/sysctl.d after its own values, so apply's file wins again at each TuneD start;
// with 0 its value wins. `daemon_running`: whether tuned runs now (false when unknown).
std::vector<TunerClaim> read_tuned_claims(const std::filesystem::path& root,
                                          const std::vector<std::string>& keys,
                                          bool daemon_running);

// The claims of each TuneD daemon that runs in a container (a process named tuned, below proc,
// whose root directory is not host_root): the Node Tuning Operator runs TuneD in a privileged
// pod with the host's network (only daemons in the network namespace with inode host_netns are
// read, the keys being per namespace; 0: all), its profiles under the container's /etc/tuned. Read through
// PROC/PID/root; the owner and source name the pid. Its reapply_sysctl re-applies the
// container's /etc/sysctl.d, so the value apply persists wins again only when that directory is
// the host's own (bind-mounted: the same inode); otherwise its value wins at its next start.
std::vector<TunerClaim> read_container_tuned_claims(const std::filesystem::path& proc,
                                                    const std::filesystem::path& host_root,
                                                    std::uint64_t host_netns,
                                                    const std::vector<std::string>& keys);

// read_tuned_claims with the daemon looked for on the host's own tree only (a test tree under
// --root says nothing about the processes running here), and there also the TuneD daemons in
// containers (read_container_tuned_claims).
std::vector<TunerClaim> tuner_claims(const std::filesystem::path& root, const std::vector<std::string>& keys);

// Each running process named tuned below proc (a TuneD daemon), with its root directory
// (PROC/PID/root) and whether that is host_root (the host's own TuneD) or a container's. A root
// that cannot be followed (not root: EACCES) counts as the host's.
struct TunedDaemon
{
  std::string pid;
  std::filesystem::path root;
  bool host_root = false;
};
std::vector<TunedDaemon> tuned_daemons(const std::filesystem::path& proc,
                                       const std::filesystem::path& host_root);

} // namespace tw
