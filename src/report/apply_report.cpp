#include "report/apply_report.hpp"

#include "apply/engine.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tw {

namespace {

// text wrapped to width, its lines appended to out: the first after `first`, the rest after
// `rest` (an item: "  " and "    ").
void add_item(std::vector<std::string>& out,
              const std::string& text,
              std::size_t width,
              std::string_view first = "  ",
              std::string_view rest = "    ")
{
  const std::string wrapped = wrap_text(text, width, first, rest);
  for (const auto line : split(wrapped, '\n')) { // views into wrapped
    if (!line.empty()) {
      out.emplace_back(line);
    }
  }
}

} // namespace

std::vector<std::string> apply_preview_lines(const ApplyPreview& p, std::size_t width)
{
  std::vector<std::string> out;
  if (p.persist_only) {
    add_item(out,
             "tw-advisor apply: the runtime already holds every value, but " + std::string(k_sysctld_dir) +
               "/" + k_generated_file_name + " does not set them (deleted, or set by hand): persisting them",
             width,
             "",
             "  ");
  } else {
    out.push_back("tw-advisor apply: " + counted(p.changes.size(), "change"));
  }
  for (std::size_t i = 0; i < p.changes.size(); ++i) {
    const auto& c = p.changes[i];
    add_item(out, c.key + ": " + c.old_value + " -> " + c.new_value, width);
    if (i < p.reasons.size()) {
      add_item(out, p.reasons[i], width, "    why: ", "         ");
    }
  }
  if (p.file) {
    add_item(out,
             "persist: " + (std::filesystem::path(p.file->dir) / p.file->name).string() +
               (p.file->before ? " (rewritten)" : " (new file)") +
               (p.root == "/" ? "" : " under " + p.root.string()),
             width);
  } else {
    add_item(out,
             "persist: no (--no-persist): the change lasts until reboot, or until this network namespace is "
             "made anew",
             width);
  }
  if (p.watch.count() > 0) {
    add_item(out,
             "watch: " + format_duration(p.watch) + ", rolled back automatically when a health counter rises",
             width);
  } else if (p.warning) {
    add_item(out, "warning: " + *p.warning, width);
  }
  for (const auto& note : p.notes) {
    add_item(out, "note: " + note, width);
  }
  return out;
}

std::string watch_progress_line(const WatchSample& sample, std::chrono::seconds total, std::size_t width)
{
  const std::string head = fmt::format("  watching {}/{} s",
                                       static_cast<long long>(sample.elapsed_seconds),
                                       static_cast<long long>(total.count()));
  const std::string tail = fmt::format("  reused {}", sample.reused);
  std::vector<std::pair<std::string, double>> rises(sample.rise.begin(), sample.rise.end());
  std::stable_sort(
    rises.begin(), rises.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  const std::size_t room = width > 1 ? width - 1 : 0;
  std::string line = head;
  std::size_t shown = 0;
  for (const auto& [counter, rise] : rises) {
    const std::string part = fmt::format("  {} {:+.2f}/s", counter, rise);
    const std::size_t left = rises.size() - shown - 1;
    const std::string more = left > 0 ? fmt::format("  +{} more", left) : std::string();
    if (line.size() + part.size() + more.size() + tail.size() > room) {
      break;
    }
    line += part;
    ++shown;
  }
  // On a very narrow terminal the count of the rest, then TWRecycled, give way before the line wraps.
  const std::string more = shown < rises.size() ? fmt::format("  +{} more", rises.size() - shown) : "";
  if (line.size() + more.size() + tail.size() <= room) {
    return line + more + tail;
  }
  if (line.size() + tail.size() <= room) {
    return line + tail;
  }
  return line;
}

nlohmann::ordered_json apply_report_to_json(const ApplyReport& r)
{
  nlohmann::ordered_json changes = nlohmann::ordered_json::array();
  for (const auto& c : r.changes) {
    changes.push_back({ { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } });
  }
  return { { "outcome", r.outcome },
           { "exit_code", r.exit_code },
           { "changes", changes },
           { "reason", r.reason },
           { "journal",
             r.journal.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.journal) },
           { "warnings", r.warnings } };
}

nlohmann::ordered_json rollback_report_to_json(const RollbackReport& r)
{
  nlohmann::ordered_json apply = nullptr;
  if (r.apply) {
    nlohmann::ordered_json changes = nlohmann::ordered_json::array();
    for (const auto& c : r.apply->changes) {
      changes.push_back({ { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } });
    }
    apply = { { "id", r.apply->id },
              { "state_before", r.previous_state },
              { "changes", std::move(changes) } };
  }
  return { { "outcome", r.outcome },
           { "exit_code", r.exit_code },
           { "message", r.message },
           { "apply", std::move(apply) },
           { "warnings", r.warnings } };
}

} // namespace tw
