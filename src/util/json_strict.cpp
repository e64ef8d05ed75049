#include "util/json_strict.hpp"

#include "util/error.hpp"

#include <set>
#include <vector>

namespace tw {

namespace {

// Where the parser is: one frame per open object or array.
struct Frame
{
  bool object = true;
  std::set<std::string> keys; // members seen so far (objects)
  std::string key;            // the member being read (objects)
  std::size_t index = 0;      // the element being read (arrays)
};

// "/changes/0/key" for the frames open now, then name (a JSON Pointer, escaped as RFC 6901 says).
std::string pointer(const std::vector<Frame>& stack, const std::string& name)
{
  const auto escape = [](const std::string& part) {
    std::string out;
    for (const char c : part) {
      out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
    }
    return out;
  };
  std::string out;
  for (std::size_t i = 0; i + 1 < stack.size(); ++i) {
    out += "/" + (stack[i].object ? escape(stack[i].key) : std::to_string(stack[i].index));
  }
  return out + "/" + escape(name);
}

} // namespace

std::string byte_position(std::string_view text, std::size_t byte)
{
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i < text.size() && i + 1 < byte; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

nlohmann::json parse_json_strict(std::string_view text, const std::string& source)
{
  using nlohmann::json;
  std::vector<Frame> stack;
  // An element of an array is complete: the next one gets the next index.
  const auto element_done = [&stack] {
    if (!stack.empty() && !stack.back().object) {
      ++stack.back().index;
    }
  };
  const json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back(Frame{ true, {}, {}, 0 });
        break;
      case json::parse_event_t::array_start:
        stack.push_back(Frame{ false, {}, {}, 0 });
        break;
      case json::parse_event_t::key: {
        auto name = parsed.get<std::string>();
        if (!stack.back().keys.insert(name).second) {
          throw Error(source,
                      "member " + pointer(stack, name) +
                        " appears twice; a document with a duplicated member is refused (which one "
                        "was meant cannot be told)");
        }
        stack.back().key = std::move(name);
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::parse_error& e) {
    throw Error(source + ":" + byte_position(text, e.byte), std::string("not valid JSON: ") + e.what());
  }
}

} // namespace tw
