#pragma once

#include <string>

namespace tw::test {

// The text with its wrapped lines joined again (a newline and the indent become one space), so a
// sentence is found wherever the terminal width broke it.
std::string unwrapped(const std::string& text);

} // namespace tw::test
