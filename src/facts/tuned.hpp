#pragma once

#include "model/boot.hpp"

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

// read_tuned_claims with the daemon looked for on the host's own tree only (a test tree under
// --root says nothing about the processes running here).
std::vector<TunerClaim> tuner_claims(const std::filesystem::path& root, const std::vector<std::string>& keys);

// Whether a process named `comm` runs (its /proc/PID/comm), read below proc.
bool process_running(const std::filesystem::path& proc, std::string_view comm);

} // namespace tw
