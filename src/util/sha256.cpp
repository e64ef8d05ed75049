// SHA-256 through OpenSSL's EVP interface (libcrypto), which the distribution keeps correct and
// fast; the digests are identical to the FIPS 180-4 vectors the unit tests pin.
#include "util/sha256.hpp"

#include "util/error.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

namespace tw {

std::array<std::uint8_t, 32> sha256(std::string_view data)
{
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  // One-shot EVP_Digest: it allocates its context internally, so only memory exhaustion (or a
  // broken libcrypto install without SHA-256) can make it fail.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    char reason[256] = {};
    ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
    throw Error("SHA-256 digest (OpenSSL EVP_Digest)",
                reason[0] != '\0' ? reason : "failed without a reason");
  }
  return digest;
}

std::string sha256_hex(std::string_view data)
{
  static const char* const k_digits = "0123456789abcdef";
  std::string out;
  for (const auto byte : sha256(data)) {
    out += k_digits[byte >> 4];
    out += k_digits[byte & 0xf];
  }
  return out;
}

} // namespace tw
