#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tw {

// Columns `s` takes on a terminal: UTF-8 code points, ANSI colour sequences (ESC [ ... m) not
// counted.
std::size_t visible_width(std::string_view s);

// text laid out in lines of at most `width` columns, broken at spaces: the first line starts with
// `first`, every other one with `rest` (colour sequences in them take no room). A word longer than
// the room left stays whole on a line of its own (a path, a key: never cut), and so does a
// `command in backticks` (it is pasted whole), and an --option stays with the word before it
// where both fit on a line. A '\n' in text starts a new line. Every line ends
// with '\n'.
std::string wrap_text(std::string_view text,
                      std::size_t width,
                      std::string_view first,
                      std::string_view rest);

} // namespace tw
