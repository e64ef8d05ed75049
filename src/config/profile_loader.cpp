// Profiles: host intent as data, with `include:` inheritance (TuneD style).
#include "config/data_dir.hpp"
#include "config/loader.hpp"
#include "config/yaml_strict.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <vector>

namespace tw::config {

namespace {

bool valid_name(const std::string& name)
{
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::filesystem::path absolute_of(const std::filesystem::path& p)
{
  std::error_code ec;
  auto canon = std::filesystem::weakly_canonical(p, ec);
  return ec ? std::filesystem::absolute(p) : canon;
}

// Reads `value`, `description`, `rationale` of one setting; value parsed by fn.
template<typename T, typename Fn>
Setting<T> read_setting(const StrictDoc& doc, const YAML::Node& node, const std::string& id, Fn parse_value)
{
  const std::string what = "setting '" + id + "'";
  doc.expect_fields(node, what, { "value", "description", "rationale" });
  doc.require(node, "value", what);
  doc.require(node, "description", what);
  doc.require(node, "rationale", what);
  Setting<T> s;
  s.id = id;
  s.value = parse_value(node["value"], what + " value");
  s.description = doc.string(node["description"], what + " description");
  s.rationale = doc.string(node["rationale"], what + " rationale");
  return s;
}

class ProfileLoader
{
public:
  Profile load(const std::filesystem::path& file)
  {
    Profile profile; // built-in defaults at the bottom of every chain
    apply(file, profile, nullptr, nullptr);
    return profile;
  }

private:
  // Applies file (its includes first) onto profile.
  void apply(const std::filesystem::path& file, Profile& profile, const StrictDoc* from, const YAML::Node* at)
  {
    const auto key = absolute_of(file);
    const auto loop = std::find(m_stack.begin(), m_stack.end(), key);
    if (loop != m_stack.end()) {
      std::string chain;
      for (auto it = loop; it != m_stack.end(); ++it) {
        chain += it->filename().string() + " -> ";
      }
      chain += key.filename().string();
      const std::string why = "include cycle: " + chain;
      if (from != nullptr && at != nullptr) {
        from->fail(*at, why);
      }
      throw Error(file.string(), why);
    }
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      const std::string why = "no such profile file " + file.string();
      if (from != nullptr && at != nullptr) {
        from->fail(*at, why);
      }
    }
    StrictDoc doc(file);
    const YAML::Node& root = doc.root();
    doc.expect_fields(root, "profile", { "id", "description", "rationale", "include", "settings" });
    doc.require(root, "id", "profile");
    doc.require(root, "description", "profile");
    doc.require(root, "rationale", "profile");
    const std::string id = doc.string(root["id"], "profile id");
    if (!valid_name(id)) {
      doc.fail(root["id"], "profile id: '" + id + "' must be letters, digits, '-' or '_'");
    }

    m_stack.push_back(key);
    if (const YAML::Node inc = root["include"]) {
      std::vector<YAML::Node> items;
      if (inc.IsSequence()) {
        for (const auto& item : inc) {
          items.push_back(item);
        }
      } else {
        items.push_back(inc);
      }
      for (const auto& item : items) {
        const std::string name = doc.string(item, "include");
        std::filesystem::path target;
        if (looks_like_path(name)) {
          target = file.parent_path() / name;
        } else if (valid_name(name)) {
          target = file.parent_path() / (name + ".yaml");
        } else {
          doc.fail(item, "include: '" + name + "' is neither a profile name nor a path");
        }
        apply(target, profile, &doc, &item);
      }
    }
    m_stack.pop_back();

    profile.id = id;
    profile.description = doc.string(root["description"], "profile description");
    profile.rationale = doc.string(root["rationale"], "profile rationale");
    profile.source = file.string();
    if (const YAML::Node settings = root["settings"]) {
      if (settings.IsMap() && settings["pressure"]) {
        doc.fail(settings["pressure"],
                 "settings: 'pressure' was renamed 'time_wait_pressure' (it is the TIME_WAIT share of a "
                 "group's usable ports, not the census's in_use pressure)");
      }
      doc.expect_fields(settings, "settings", { "intent", "time_wait_pressure", "container_netns" });
      if (const YAML::Node n = settings["intent"]) {
        profile.intent =
          read_setting<HostIntent>(doc, n, "intent", [&](const YAML::Node& v, const std::string& what) {
            const std::string text = doc.string(v, what);
            const auto intent = host_intent_from_string(text);
            if (!intent) {
              doc.fail(v, what + ": '" + text + "' is not one of mixed, server, client, proxy");
            }
            return *intent;
          });
      }
      if (const YAML::Node n = settings["time_wait_pressure"]) {
        profile.time_wait_pressure = read_setting<double>(
          doc, n, "time_wait_pressure", [&](const YAML::Node& v, const std::string& what) {
            return doc.real(v, what, 0.01, 1.0);
          });
      }
      if (const YAML::Node n = settings["container_netns"]) {
        profile.container_netns =
          read_setting<bool>(doc, n, "container_netns", [&](const YAML::Node& v, const std::string& what) {
            return doc.boolean(v, what);
          });
      }
    }
  }

  std::vector<std::filesystem::path> m_stack;
};

} // namespace

bool looks_like_path(const std::string& text)
{
  const auto ends_with = [&](const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return text.find('/') != std::string::npos || ends_with(".yaml") || ends_with(".yml");
}

Profile load_profile_file(const std::filesystem::path& file)
{
  return ProfileLoader().load(file);
}

Profile load_profile(const std::string& name_or_path, const std::filesystem::path& data_dir)
{
  if (looks_like_path(name_or_path)) {
    return load_profile_file(name_or_path);
  }
  if (!valid_name(name_or_path)) {
    throw Error("--profile " + name_or_path, "not a profile name (letters, digits, '-', '_') nor a path");
  }
  const auto file = data_dir / "profiles" / (name_or_path + ".yaml");
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    std::string known;
    for (const auto& n : data_names(data_dir, "profiles")) { // sorted, as completion offers them
      known += (known.empty() ? "" : ", ") + n;
    }
    throw Error("--profile " + name_or_path,
                "no such profile in " + (data_dir / "profiles").string() + " (known: " + known + ")");
  }
  return load_profile_file(file);
}

} // namespace tw::config
