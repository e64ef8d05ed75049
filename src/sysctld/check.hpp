#pragma once

#include "model/sysctl.hpp"
#include "sysctld/parser.hpp"
#include "sysctld/resolver.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw::sysctld {

// What `check` needs to know about the running kernel; tests fill it in memory or from a fake /proc.
struct KernelView
{
  // The current value of a canonical key (status absent when this kernel has no such key).
  std::function<SysctlValue(const std::string& key)> read;
  // Canonical keys that a canonical glob pattern matches below /proc/sys now.
  std::function<std::vector<std::string>(const std::string& pattern)> expand;
  // TCP ports something listens on now (both families); nullopt when it could not be told.
  std::optional<std::vector<std::uint16_t>> listening;
  // How the listeners were read, or why not.
  std::string listening_note;
};

// The fewest ports an ip_local_port_range may hold before `check` calls it absurdly narrow.
inline constexpr std::uint32_t k_min_port_range = 1024;

// Inputs of one check run.
struct CheckOptions
{
  std::filesystem::path root = "/";    // the tree whose sysctl.d the proposed files join
  std::vector<Loader> loaders;         // loaders to simulate (both by default)
  std::vector<KeyRange> extra_ranges;  // policy guardrails, checked as well as the kernel's
  std::uint32_t narrow_port_range = 0; // policy: a port range smaller than this is a warning (0: off)
};

// The findings of a check: each names file:line when it is about a line.
struct CheckReport
{
  std::vector<Problem> findings;
  // Config dirs/files under root that a loader would read but this process cannot (union over the
  // loaders, by path): the findings may miss what they hold, so `check` exits 1.
  std::vector<UnreadablePath> unreadable;

  // Findings with severity error (they make `check` exit 2).
  std::size_t errors() const;
  // Findings with severity warning.
  std::size_t warnings() const;
};

// Validates proposed sysctl.d files against the kernel (kernel) and, merged with the existing
// configuration under options.root, against each loader's precedence rules.
CheckReport run_check(const std::vector<ProposedFile>& proposed,
                      const KernelView& kernel,
                      const CheckOptions& options);

// Where a FILE given to `check` will be installed when no --dest is given: its own path when it
// already lies in a sysctl.d directory under root (or ends in one, as in a repository laid out
// like the target), else /etc/sysctl.d/<its name>. assumed is set in that last case.
std::filesystem::path infer_dest(const std::filesystem::path& file,
                                 const std::filesystem::path& root,
                                 bool& assumed);

} // namespace tw::sysctld
