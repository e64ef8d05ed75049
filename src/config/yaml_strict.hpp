#pragma once

#include "util/error.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tw::config {

// One YAML document being read strictly: every error names file:line:column (1-based).
class StrictDoc
{
public:
  // Parses the file; a syntax error or an unreadable file is a tw::Error naming it.
  explicit StrictDoc(const std::filesystem::path& file);
  // Parses text that came from name (e.g. a document embedded in the binary).
  StrictDoc(std::filesystem::path name, const std::string& text);

  // The file as given.
  const std::filesystem::path& file() const { return m_file; }
  // The top-level node (a map, checked).
  const YAML::Node& root() const { return m_root; }

  // "file:line:column" of a node (just "file" when the node has no position).
  std::string where(const YAML::Node& node) const;
  // Throws tw::Error("file:line:column", why).
  [[noreturn]] void fail(const YAML::Node& node, const std::string& why) const;

  // Checks that node is a map whose keys are all in `allowed` (each once); names the offender.
  void expect_fields(const YAML::Node& node,
                     std::string_view what,
                     std::initializer_list<std::string_view> allowed) const;
  // Checks that node is a map with unique keys (any names).
  void expect_map(const YAML::Node& node, std::string_view what) const;
  // Checks that node is a sequence.
  void expect_sequence(const YAML::Node& node, std::string_view what) const;
  // Fails when a required field is missing from map node.
  void require(const YAML::Node& map, std::string_view field, std::string_view what) const;

  // A scalar string (non-empty, no control characters).
  std::string string(const YAML::Node& node, std::string_view what) const;
  // A whole number within [min, max].
  std::int64_t integer(const YAML::Node& node,
                       std::string_view what,
                       std::int64_t min,
                       std::int64_t max) const;
  // A decimal number within [min, max].
  double real(const YAML::Node& node, std::string_view what, double min, double max) const;
  // `true` or `false` (nothing else: no yes/no/on/off).
  bool boolean(const YAML::Node& node, std::string_view what) const;

private:
  std::filesystem::path m_file;
  YAML::Node m_root;
};

} // namespace tw::config
