#pragma once

#include "model/counters.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace tw {

// Parses /proc/net/netstat or /proc/net/snmp content (header/value line pairs per prefix) into
// "TcpExt.TW", "Tcp.ActiveOpens"... Negative values (Tcp MaxConn is -1) are limits, not counters,
// and are left out. Malformed lines become findings in `error` naming file:line; never throws.
Counters parse_netstat(std::string_view content, std::string_view file_name = "/proc/net/netstat");

// Parses /proc/net/sockstat (or sockstat6) content: "TCP: inuse 5 ... tw 3" gives "sockstat.tcp_inuse",
// "sockstat.tcp_tw" and the short alias "sockstat.tw"; key_prefix is "sockstat" or "sockstat6".
Counters parse_sockstat(std::string_view content,
                        std::string_view key_prefix = "sockstat",
                        std::string_view file_name = "/proc/net/sockstat");

// Reads netstat, snmp, sockstat and sockstat6 below proc_root (normally /proc) of the calling
// network namespace. Unreadable files are findings; available=false only when none could be read.
Counters read_counters(const std::filesystem::path& proc_root = "/proc");

// Rates between two readings taken `seconds` apart; counters that went backwards (wrapped or
// reset) or that only one reading has are dropped rather than reported negative.
CounterRates sample_rates(const Counters& before, const Counters& after, double seconds);

// How the sampler waits between its two readings (tests pass one that does not sleep).
using SleepFn = std::function<void(std::chrono::milliseconds)>;

// The SleepFn of a real run: std::this_thread::sleep_for.
void sleep_for_real(std::chrono::milliseconds duration);

// How the sampler reads the counters (tests pass canned readings).
using ReadCountersFn = std::function<Counters()>;

// Reads the counters, waits `seconds`, reads them again; returns the second reading in
// `latest` and the rates between them over the requested interval (sleep_for never sleeps less).
CounterRates sample_counters(const ReadCountersFn& read,
                             double seconds,
                             const SleepFn& sleep,
                             Counters& latest);

} // namespace tw
