#include "apply/target_lock.hpp"

#include "facts/host.hpp"
#include "util/error.hpp"

#include <sys/stat.h>

namespace tw {

namespace {

std::string device_inode(const std::filesystem::path& path)
{
  struct stat st
  {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(path.string(), "cannot stat it to lock it: " + errno_text(errno));
  }
  return std::to_string(static_cast<unsigned long long>(st.st_dev)) + "-" +
         std::to_string(static_cast<unsigned long long>(st.st_ino));
}

} // namespace

LockTarget runtime_target(const std::filesystem::path& proc_sys)
{
  if (proc_sys == "/proc/sys") {
    const auto ns = current_netns_inode();
    return { "netns-" + std::to_string(ns) + ".lock", "network namespace " + std::to_string(ns) };
  }
  return { "proc-" + device_inode(proc_sys) + ".lock", "the runtime keys under " + proc_sys.string() };
}

LockTarget root_target(const std::filesystem::path& root)
{
  return { "root-" + device_inode(root) + ".lock",
           "--root " + std::filesystem::absolute(root).lexically_normal().string() };
}

TargetLocks::TargetLocks(const std::filesystem::path& lock_dir,
                         const std::vector<LockTarget>& targets,
                         const std::string& command)
{
  m_dir = std::make_unique<Dir>(open_state_dir(lock_dir, false));
  for (const auto& t : targets) {
    m_locks.push_back(std::make_unique<FileLock>(*m_dir, t.file_name, command, t.description, true));
  }
}

std::optional<std::string> target_lock_holder(const std::filesystem::path& lock_dir,
                                              const std::vector<LockTarget>& targets)
{
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(lock_dir, ec))) {
    return std::nullopt;
  }
  try {
    const Dir dir = Dir::open(lock_dir);
    for (const auto& t : targets) {
      if (const auto holder = lock_holder(dir, t.file_name)) {
        return t.description + ": " + (holder->empty() ? std::string("holder not recorded yet") : *holder);
      }
    }
  } catch (const Error&) {
    return std::nullopt; // not ours to diagnose here (a reader without rights)
  }
  return std::nullopt;
}

} // namespace tw
