#include "util/wrap.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <vector>

namespace tw {

std::size_t visible_width(std::string_view s)
{
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033' && i + 1 < s.size() && s[i + 1] == '[') {
      const auto end = s.find('m', i);
      if (end != std::string_view::npos) {
        i = end;
        continue;
      }
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      ++n; // not a UTF-8 continuation byte
    }
  }
  return n;
}

std::string wrap_text(std::string_view text, std::size_t width, std::string_view first, std::string_view rest)
{
  std::string out;
  std::string line(first);
  std::size_t used = visible_width(first);
  const std::size_t rest_width = visible_width(rest);
  bool words_on_line = false;
  const auto end_line = [&] {
    out += line + "\n";
    line = std::string(rest);
    used = rest_width;
    words_on_line = false;
  };
  bool first_paragraph = true;
  for (const std::string_view paragraph : split(text, '\n')) {
    if (!first_paragraph) {
      end_line();
    }
    first_paragraph = false;
    // Words; a `command in backticks` is one word, so it is never broken across lines.
    std::vector<std::string> words;
    // A stray backtick (a quoted value) opens no span: only a paragraph whose backticks pair up
    // keeps its spans whole.
    const bool spans_pair = std::count(paragraph.begin(), paragraph.end(), '`') % 2 == 0;
    bool in_code = false;
    for (const std::string_view piece : split(paragraph, ' ')) {
      if (piece.empty() && !in_code) {
        continue;
      }
      // An option ("--no-persist") stays with the word before it: a line that starts with one
      // reads like a command line of its own.
      // Only where the two fit on a line: a glued word is never the cause of a line over width.
      const bool option = !in_code && piece.size() > 2 && piece.substr(0, 2) == "--" && !words.empty() &&
                          visible_width(words.back()) + 1 + visible_width(piece) + rest_width <= width;
      if (in_code || option) {
        words.back() += " " + std::string(piece);
      } else {
        words.emplace_back(piece);
      }
      if (spans_pair && std::count(piece.begin(), piece.end(), '`') % 2 == 1) {
        in_code = !in_code;
      }
    }
    for (const std::string& word : words) {
      const std::size_t w = visible_width(word);
      if (words_on_line && used + 1 + w > width) {
        end_line();
      }
      if (words_on_line) {
        line += ' ';
        ++used;
      }
      line += word;
      used += w;
      words_on_line = true;
    }
  }
  out += line + "\n";
  return out;
}

} // namespace tw
