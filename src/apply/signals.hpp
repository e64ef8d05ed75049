#pragma once

#include <chrono>
#include <string>

namespace tw {

// Installs SIGINT/SIGTERM/SIGHUP handlers that ask a running apply to stop and roll back, and
// ignores SIGPIPE so a closed output pipe never stops an apply half-way.
void install_interrupt_handlers();

// True once one of those signals arrived.
bool interrupt_requested();

// "interrupted by signal 15 (SIGTERM)", for the reason of a rollback.
std::string interrupt_reason();

// Sleeps up to duration in short steps; false when a signal asked to stop.
bool sleep_interruptibly(std::chrono::milliseconds duration);

} // namespace tw
