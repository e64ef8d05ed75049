#include "sysctld/generated_file.hpp"

#include "util/strings.hpp"

namespace tw {

std::string render_generated_file(const GeneratedFileInfo& info, const Settings& settings)
{
  std::string out;
  out += std::string(k_generated_marker) + " " + info.tool_version + " at " + info.generated_at + ".\n";
  out += "# Plan: " + info.plan_source + " (sha256 " + info.plan_sha256 + ")\n";
  out += "# Apply: " + info.apply_id + "\n";
  out += "# Do not edit: the next `tw-advisor apply` rewrites this file and `tw-advisor rollback`\n";
  out += "# restores what was here before. `tw-advisor status` shows whether it still wins at boot.\n";
  for (const auto& [key, value] : settings) {
    out.append(key).append(" = ").append(value).append("\n");
  }
  return out;
}

bool is_generated_file(std::string_view text)
{
  return text.rfind(k_generated_marker, 0) == 0;
}

std::optional<Settings> parse_generated_settings(std::string_view text)
{
  if (!is_generated_file(text)) {
    return std::nullopt;
  }
  Settings out;
  for (const auto raw : split(text, '\n')) {
    const auto line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    const auto key = trim(line.substr(0, eq));
    const auto value = trim(line.substr(eq + 1));
    if (key.empty()) {
      return std::nullopt;
    }
    out.emplace_back(std::string(key), std::string(value));
  }
  return out;
}

} // namespace tw
