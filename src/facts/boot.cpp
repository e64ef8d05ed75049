#include "facts/boot.hpp"

#include "facts/netns.hpp"
#include "facts/tuned.hpp"
#include "state/journal.hpp"
#include "sysctld/generated_file.hpp"
#include "sysctld/resolver.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace tw {

BootFacts read_boot_facts(const std::filesystem::path& root,
                          const std::filesystem::path& state_dir,
                          const Sysctls& runtime,
                          const std::vector<std::string>& candidate_keys)
{
  BootFacts boot;
  const sysctld::Loader first = sysctld::boot_loader(root);
  const sysctld::Loader second =
    first == sysctld::Loader::systemd ? sysctld::Loader::procps : sysctld::Loader::systemd;
  boot.loader = sysctld::to_string(first);
  const std::vector<sysctld::BootResolution> resolutions = { sysctld::resolve(root, first),
                                                             sysctld::resolve(root, second) };
  for (const auto& d : sysctld::boot_drift(runtime, resolutions)) {
    BootDrift drift{ d.key, d.message, std::nullopt };
    // The line of the first loader whose boot value differs from the runtime one.
    for (const auto& b : d.boots) {
      if (b.source && b.boot && !same_sysctl_value(*b.boot, d.runtime)) {
        drift.line = b.source->line;
        break;
      }
    }
    boot.drift.push_back(std::move(drift));
  }
  for (const auto& res : resolutions) {
    for (const auto& u : res.unreadable) {
      std::string text = u.path.string() + " (" + u.reason + ")";
      if (std::find(boot.unreadable.begin(), boot.unreadable.end(), text) == boot.unreadable.end()) {
        boot.unreadable.push_back(std::move(text));
      }
    }
  }

  // What an earlier apply left in the generated file: apply keeps it and adds the new changes.
  const auto dest = std::filesystem::path(k_sysctld_dir) / k_generated_file_name;
  boot.generated_file = dest.string();
  std::error_code ec;
  if (const auto existing = under_root(root, dest); std::filesystem::is_regular_file(existing, ec)) {
    try {
      boot.generated = parse_generated_settings(read_file_or_throw(existing)).value_or(Settings{});
    } catch (const Error& e) {
      spdlog::debug("generated file: {}", e.what()); // unreadable: apply will name it
    }
  }
  // Which keys a generated file would not win at boot for: the ones a plan may propose, and the
  // ones the file already sets (apply rewrites them all).
  std::set<std::string> keys(candidate_keys.begin(), candidate_keys.end());
  for (const auto& [key, value] : boot.generated) {
    keys.insert(key);
  }
  Settings probe;
  for (const auto& key : keys) {
    const auto it = std::find_if(
      boot.generated.begin(), boot.generated.end(), [&](const auto& s) { return s.first == key; });
    probe.emplace_back(key, it != boot.generated.end() ? it->second : runtime.get(key).value_or("1"));
  }
  if (!probe.empty()) {
    boot.overridden = sysctld::overrides_at_boot(root, dest, probe);
  }
  boot.interrupted = find_interrupted_apply(root, state_dir);
  // Another tuner that sets the same keys (its daemon is looked for only on the host's own tree).
  const std::vector<std::string> claimed(keys.begin(), keys.end());
  boot.tuners = tuner_claims(root, claimed);
  return boot;
}

} // namespace tw
