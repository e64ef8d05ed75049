#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tw {

// One entry of doc/explain.md: what an id the tool reports means, the kernel facts behind it, and
// what to do. Kinds: verdict, prerequisite, finding, advice, check.
struct Explanation
{
  std::string kind;
  std::string id;
  std::string body; // paragraphs, lines of at most 78 columns, ending in a newline
};

// Every explanation, in the order of doc/explain.md (embedded in the binary at build time).
const std::vector<Explanation>& explanations();

// Those whose id is `id` (an id can be both a finding and a check problem); empty when none.
// "KIND/ID" names one kind only.
std::vector<const Explanation*> find_explanations(std::string_view id);

// Parses the text of doc/explain.md: sections "## KIND ID" and their bodies. Throws tw::Error
// naming the line of a header that is not "## KIND ID" with a known kind.
std::vector<Explanation> parse_explanations(std::string_view markdown);

} // namespace tw
