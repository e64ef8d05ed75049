#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tw {

// Buckets a host falls into: 0..9999, so percentages have two decimals of resolution.
inline constexpr std::uint32_t k_canary_buckets = 10000;

// The host's stable bucket: the first 8 bytes (big-endian) of SHA-256("tw-advisor-canary:" + host_id)
// modulo 10000. The same id always lands in the same bucket, on every host and every run.
std::uint32_t canary_bucket(const std::string& host_id);

// Buckets selected by a percentage (0..100): floor(percent * 100), clamped to 0..10000.
std::uint32_t canary_threshold(double percent);

// True when the host is in the cohort of percent: bucket < threshold. A larger percent only adds hosts.
bool canary_selected(const std::string& host_id, double percent);

// The host id: /etc/machine-id under root, trimmed. Throws tw::Error naming the path when it is
// missing, empty or not one printable line, so a canary never runs on an accidental empty id.
std::string read_host_id(const std::filesystem::path& root);

} // namespace tw
