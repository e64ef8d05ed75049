#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tw {

// SHA-256 (FIPS 180-4) of data, from OpenSSL (libcrypto): canary buckets, plan and file hashes.
// Throws tw::Error only if libcrypto cannot digest at all (out of memory).
std::array<std::uint8_t, 32> sha256(std::string_view data);

// SHA-256 of data as 64 lower-case hex digits, for journals and file headers.
std::string sha256_hex(std::string_view data);

} // namespace tw
