#pragma once

#include "model/boot.hpp"
#include "model/sysctl.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tw {

// Reads what the boot configuration under root and the apply state dir mean for a plan: runtime
// values that differ from what wins at boot (under both loaders, as apply persists for both), the
// paths the loaders read that could not be read, what the generated file sets now, which of
// candidate_keys (and the generated file's keys) another file would override at boot, and an
// interrupted apply. Problems are recorded in the facts, never thrown.
BootFacts read_boot_facts(const std::filesystem::path& root,
                          const std::filesystem::path& state_dir,
                          const Sysctls& runtime,
                          const std::vector<std::string>& candidate_keys);

} // namespace tw
