#include "config/yaml_strict.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace tw::config {

namespace {

std::string position(const std::filesystem::path& file, const YAML::Mark& mark)
{
  if (mark.is_null() || mark.line < 0) {
    return file.string();
  }
  return file.string() + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

const char* kind_name(const YAML::Node& node)
{
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

std::string scalar_text(const YAML::Node& node)
{
  return node.IsScalar() ? "'" + printable(node.Scalar()) + "'" : std::string(kind_name(node));
}

} // namespace

StrictDoc::StrictDoc(const std::filesystem::path& file)
  : StrictDoc(file, read_file_or_throw(file))
{
}

StrictDoc::StrictDoc(std::filesystem::path name, const std::string& text)
  : m_file(std::move(name))
{
  try {
    m_root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(position(m_file, e.mark), "YAML syntax: " + e.msg);
  }
  if (!m_root.IsMap()) {
    throw Error(m_file.string(),
                std::string("expected a map of fields at the top, got ") + kind_name(m_root));
  }
}

std::string StrictDoc::where(const YAML::Node& node) const
{
  return position(m_file, node.Mark());
}

void StrictDoc::fail(const YAML::Node& node, const std::string& why) const
{
  throw Error(where(node), why);
}

void StrictDoc::expect_map(const YAML::Node& node, std::string_view what) const
{
  if (!node.IsMap()) {
    fail(node, std::string(what) + ": expected a map, got " + kind_name(node));
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      fail(kv.first, std::string(what) + ": field names must be plain strings");
    }
    if (!seen.insert(kv.first.Scalar()).second) {
      fail(kv.first, std::string(what) + ": duplicate field '" + printable(kv.first.Scalar()) + "'");
    }
  }
}

void StrictDoc::expect_fields(const YAML::Node& node,
                              std::string_view what,
                              std::initializer_list<std::string_view> allowed) const
{
  expect_map(node, what);
  for (const auto& kv : node) {
    const std::string& name = kv.first.Scalar();
    bool known = false;
    for (const auto a : allowed) {
      known = known || name == a;
    }
    if (!known) {
      std::string list;
      for (const auto a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      fail(kv.first, std::string(what) + ": unknown field '" + printable(name) + "' (known: " + list + ")");
    }
  }
}

void StrictDoc::expect_sequence(const YAML::Node& node, std::string_view what) const
{
  if (!node.IsSequence()) {
    fail(node, std::string(what) + ": expected a list, got " + kind_name(node));
  }
}

void StrictDoc::require(const YAML::Node& map, std::string_view field, std::string_view what) const
{
  if (!map[std::string(field)]) {
    fail(map, std::string(what) + ": missing required field '" + std::string(field) + "'");
  }
}

std::string StrictDoc::string(const YAML::Node& node, std::string_view what) const
{
  if (!node.IsScalar()) {
    fail(node, std::string(what) + ": expected a string, got " + kind_name(node));
  }
  const std::string& s = node.Scalar();
  if (trim(s).empty()) {
    fail(node, std::string(what) + ": must not be empty");
  }
  if (has_control_char(s)) {
    fail(node, std::string(what) + ": control characters are not allowed in '" + printable(s) + "'");
  }
  return s;
}

std::int64_t StrictDoc::integer(const YAML::Node& node,
                                std::string_view what,
                                std::int64_t min,
                                std::int64_t max) const
{
  if (!node.IsScalar()) {
    fail(node, std::string(what) + ": expected a whole number, got " + kind_name(node));
  }
  const auto n = parse_int(node.Scalar());
  if (!n) {
    fail(node, std::string(what) + ": expected a whole number, got " + scalar_text(node));
  }
  if (*n < min || *n > max) {
    fail(node,
         std::string(what) + ": " + std::to_string(*n) + " is out of range " + std::to_string(min) + ".." +
           std::to_string(max));
  }
  return *n;
}

double StrictDoc::real(const YAML::Node& node, std::string_view what, double min, double max) const
{
  if (!node.IsScalar()) {
    fail(node, std::string(what) + ": expected a number, got " + kind_name(node));
  }
  const std::string s(trim(node.Scalar()));
  char* end = nullptr;
  errno = 0;
  const double v = s.empty() ? 0.0 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v)) {
    fail(node, std::string(what) + ": expected a number, got " + scalar_text(node));
  }
  if (v < min || v > max) {
    fail(node, fmt::format("{}: {:g} is out of range {:g}..{:g}", what, v, min, max));
  }
  return v;
}

bool StrictDoc::boolean(const YAML::Node& node, std::string_view what) const
{
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    return node.Scalar() == "true";
  }
  fail(node, std::string(what) + ": expected true or false, got " + scalar_text(node));
}

} // namespace tw::config
