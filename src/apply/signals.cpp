// How apply and rollback meet signals: a stop request is recorded and honoured between steps,
// never in the middle of one, so what was changed is always rolled back.
#include "apply/signals.hpp"

#include <csignal>
#include <thread>

namespace tw {

namespace {

volatile std::sig_atomic_t g_interrupt_signal = 0;

extern "C" void on_interrupt(int signal)
{
  g_interrupt_signal = signal;
}

} // namespace

bool sleep_interruptibly(std::chrono::milliseconds duration)
{
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (interrupt_requested()) {
      return false;
    }
    const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(100)));
  }
  return !interrupt_requested();
}

std::string interrupt_reason()
{
  const int sig = g_interrupt_signal;
  const char* name = "";
  switch (sig) {
    case SIGINT:
      name = " (SIGINT)";
      break;
    case SIGTERM:
      name = " (SIGTERM)";
      break;
    case SIGHUP:
      name = " (SIGHUP: the terminal went away)";
      break;
    default:
      break;
  }
  return "interrupted by signal " + std::to_string(sig) + name;
}

void install_interrupt_handlers()
{
  struct sigaction sa
  {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  for (const int sig : { SIGINT, SIGTERM, SIGHUP }) {
    ::sigaction(sig, &sa, nullptr);
  }
  // By default SIGPIPE kills the process at its next write to a closed pipe (`apply ... | head`),
  // which would leave a half-applied change with no watch. Ignored, such a write only fails
  // (EPIPE): the confirmed apply or rollback runs to its end, watch included, whatever the output.
  struct sigaction ignore
  {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

bool interrupt_requested()
{
  return g_interrupt_signal != 0;
}

} // namespace tw
