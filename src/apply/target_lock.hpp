#pragma once

#include "util/durable_fs.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// Where the per-target locks live: tmpfs, cleared at boot, the same for every state dir.
inline constexpr const char* k_target_lock_dir = "/run/lock/tw-advisor";

// One thing an apply or rollback changes, as a lock file name and the words that name it.
struct LockTarget
{
  std::string file_name;   // "netns-4026531840.lock"
  std::string description; // "network namespace 4026531840"
};

// The runtime keys an apply writes: the network namespace behind /proc/sys (or, for a proc_sys
// tree other than /proc/sys, that tree).
LockTarget runtime_target(const std::filesystem::path& proc_sys);

// The files an apply writes: the tree given as --root (by its device and inode, so two spellings
// of one directory are one target).
LockTarget root_target(const std::filesystem::path& root);

// Exclusive locks on the targets of one apply or rollback, whatever its state dir: two applies with
// different --state-dir on the same namespace or root cannot both run. Taken in order; each lock
// file is removed when released.
class TargetLocks
{
public:
  // Takes every lock (creating lock_dir 0700 when missing); throws tw::Error naming the target and
  // the holder's pid and command when another process holds one.
  TargetLocks(const std::filesystem::path& lock_dir,
              const std::vector<LockTarget>& targets,
              const std::string& command);

private:
  std::unique_ptr<Dir> m_dir;
  std::vector<std::unique_ptr<FileLock>> m_locks;
};

// "network namespace 4026531840: pid 42, command: tw-advisor apply ..., since ..." for the first
// of targets whose lock another process holds now; nullopt when none is held (or the lock dir is
// not there or not readable). Takes no lock.
std::optional<std::string> target_lock_holder(const std::filesystem::path& lock_dir,
                                              const std::vector<LockTarget>& targets);

} // namespace tw
