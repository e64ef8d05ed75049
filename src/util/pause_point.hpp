#pragma once

namespace tw {

// A test hook, compiled in always: when the environment variable TW_ADVISOR_PAUSE is
// "NAME:MS" and NAME is this point's name, the process sleeps MS milliseconds (at most 60 s)
// there, so a live test can change the world at that moment (a namespace that goes away
// between being listed and being visited). Anything else in the variable is ignored.
inline constexpr const char* k_pause_env = "TW_ADVISOR_PAUSE";

void pause_point(const char* name);

} // namespace tw
