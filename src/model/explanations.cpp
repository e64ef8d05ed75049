#include "model/explanations.hpp"

#include "model/explanations_text.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <array>

namespace tw {

namespace {

constexpr std::array<std::string_view, 5> k_kinds = { "verdict",
                                                      "prerequisite",
                                                      "finding",
                                                      "advice",
                                                      "check" };

bool known_kind(std::string_view kind)
{
  for (const auto k : k_kinds) {
    if (k == kind) {
      return true;
    }
  }
  return false;
}

// The body without the blank lines around it.
std::string trimmed_body(const std::string& body)
{
  const auto first = body.find_first_not_of('\n');
  if (first == std::string::npos) {
    return {};
  }
  const auto last = body.find_last_not_of('\n');
  return body.substr(first, last - first + 1) + "\n";
}

} // namespace

std::vector<Explanation> parse_explanations(std::string_view markdown)
{
  std::vector<Explanation> out;
  std::size_t number = 0;
  for (const std::string_view line : split(markdown, '\n')) {
    ++number;
    if (line.rfind("## ", 0) == 0) {
      const auto words = split_ws(line.substr(3));
      if (words.size() != 2 || !known_kind(words[0])) {
        throw Error("doc/explain.md:" + std::to_string(number),
                    "a section header is \"## KIND ID\" with KIND verdict, prerequisite, finding, advice or "
                    "check, not \"" +
                      std::string(line) + "\"");
      }
      if (!out.empty()) {
        out.back().body = trimmed_body(out.back().body);
      }
      out.push_back({ std::string(words[0]), std::string(words[1]), {} });
    } else if (!out.empty()) {
      out.back().body += std::string(line) + "\n";
    }
  }
  if (!out.empty()) {
    out.back().body = trimmed_body(out.back().body);
  }
  return out;
}

const std::vector<Explanation>& explanations()
{
  static const std::vector<Explanation> all = parse_explanations(k_explanations_md);
  return all;
}

std::vector<const Explanation*> find_explanations(std::string_view id)
{
  std::string_view kind;
  if (const auto slash = id.find('/'); slash != std::string_view::npos) {
    kind = id.substr(0, slash);
    id = id.substr(slash + 1);
  }
  if (id == "tw-buckets-overflow") {
    id = "time-wait-overflow"; // its id in plans made before 2026-12
  }
  std::vector<const Explanation*> found;
  for (const auto& e : explanations()) {
    if (e.id == id && (kind.empty() || e.kind == kind)) {
      found.push_back(&e);
    }
  }
  return found;
}

} // namespace tw
