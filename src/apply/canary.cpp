#include "apply/canary.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

#include <cmath>

namespace tw {

std::uint32_t canary_bucket(const std::string& host_id)
{
  const auto digest = sha256("tw-advisor-canary:" + host_id);
  std::uint64_t head = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    head = (head << 8) | digest[i];
  }
  return static_cast<std::uint32_t>(head % k_canary_buckets);
}

std::uint32_t canary_threshold(double percent)
{
  if (!(percent > 0.0)) {
    return 0;
  }
  if (percent >= 100.0) {
    return k_canary_buckets;
  }
  // The small epsilon keeps 12.34 from becoming 1233 through binary rounding.
  return static_cast<std::uint32_t>(std::floor(percent * 100.0 + 1e-9));
}

bool canary_selected(const std::string& host_id, double percent)
{
  return canary_bucket(host_id) < canary_threshold(percent);
}

std::string read_host_id(const std::filesystem::path& root)
{
  const auto path = under_root(root, "/etc/machine-id");
  const auto read = read_file(path);
  if (!read) {
    throw Error(path.string(),
                errno_text(read.error()) + " (the canary needs a stable host id; pass --host-id ID instead)");
  }
  std::string id(trim(*read));
  if (id.empty() || has_control_char(id)) {
    throw Error(path.string(), "empty or not a single printable line; pass --host-id ID instead");
  }
  return id;
}

} // namespace tw
