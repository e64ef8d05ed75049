#include "support/text.hpp"

namespace tw::test {

std::string unwrapped(const std::string& text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] == ' ') {
        ++j;
      }
      out += ' ';
      i = j - 1;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace tw::test
