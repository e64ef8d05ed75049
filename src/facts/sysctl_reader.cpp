#include "facts/sysctl_reader.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/sysctl_key.hpp"

#include <cerrno>
#include <cstdlib>

namespace tw {

const std::vector<std::string>& default_sysctl_keys()
{
  static const std::vector<std::string> k_keys = {
    k_tw_reuse,
    k_tw_reuse_delay,
    k_timestamps,
    k_port_range,
    k_reserved_ports,
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_max_orphans",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.ip_forward",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_tw_recycle",
    "net.netfilter.nf_conntrack_count",
    "net.netfilter.nf_conntrack_max",
  };
  return k_keys;
}

std::optional<std::filesystem::path> sysctl_path(const std::filesystem::path& proc_sys,
                                                 const std::string& key)
{
  if (!is_valid_sysctl_key(key)) {
    return std::nullopt;
  }
  std::filesystem::path path = proc_sys;
  for (const auto part : split(key, '.')) {
    if (part.empty() || part == "..") {
      return std::nullopt;
    }
    path /= std::string(part);
  }
  return path;
}

std::filesystem::path proc_sys_dir()
{
  const char* hook = std::getenv("TW_ADVISOR_PROC_SYS");
  return hook != nullptr && *hook != '\0' ? std::filesystem::path(hook) : std::filesystem::path("/proc/sys");
}

SysctlValue read_sysctl(const std::filesystem::path& proc_sys, const std::string& key)
{
  SysctlValue value;
  value.key = key;
  const auto path = sysctl_path(proc_sys, key);
  if (!path) {
    value.status = ReadStatus::error;
    value.error = EINVAL;
    value.detail = "not a valid sysctl name";
    return value;
  }
  const auto read = read_file(*path);
  if (read) {
    value.status = ReadStatus::ok;
    value.value = normalize_space(*read);
    return value;
  }
  value.error = read.error();
  value.detail = path->string() + ": " + errno_text(read.error());
  if (read.error() == ENOENT) {
    value.status = ReadStatus::absent;
  } else if (read.error() == EACCES || read.error() == EPERM) {
    value.status = ReadStatus::denied;
  } else {
    value.status = ReadStatus::error;
  }
  return value;
}

Sysctls read_sysctls(const std::filesystem::path& proc_sys, const std::vector<std::string>& keys)
{
  Sysctls out;
  for (const auto& key : keys) {
    out.values.emplace(key, read_sysctl(proc_sys, key));
  }
  return out;
}

} // namespace tw
