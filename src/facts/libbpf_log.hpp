#pragma once

#include <string>

namespace tw {

// Routes libbpf's messages to the log: its debug lines at -vv, the rest at -v. Idempotent.
void route_libbpf_logs();

// libbpf's last warning (it explains a refused load), or "".
std::string last_libbpf_warning();

} // namespace tw
