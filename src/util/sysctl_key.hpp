#pragma once

#include <string_view>

namespace tw {

// The one rule for a dotted sysctl name the tool reads, proposes or accepts from a file:
// dot-separated components of ASCII letters, digits, '_' and '-', none empty, at most 255 bytes.
// No '/', no "..", no control characters: a key can never leave /proc/sys.
bool is_valid_sysctl_key(std::string_view key);

} // namespace tw
