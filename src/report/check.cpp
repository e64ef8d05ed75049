#include "report/check.hpp"

#include "util/strings.hpp"

namespace tw {

namespace {

using sysctld::escape_text;

nlohmann::json errors_json(const std::vector<InputError>& errors)
{
  auto out = nlohmann::json::array();
  for (const auto& e : errors) {
    out.push_back({ { "path", escape_text(e.path) }, { "cause", escape_text(e.cause) } });
  }
  return out;
}

} // namespace

std::string check_to_text(const CheckOutcome& o)
{
  const auto& [files, assumed, report, listening_checked, listening_note, root, errors, exit_code] = o;
  std::string out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (assumed[i]) {
      out += "note: " + escape_text(files[i].display) + " is checked as " + files[i].dest.string() +
             " (give --dest PATH to say where it is installed)\n";
    }
  }
  if (!listening_checked) {
    out +=
      "note: listening ports unknown (" + listening_note + "); the port range was not checked against them\n";
  }
  for (const auto& f : report.findings) {
    std::string where = f.file.empty() ? "tw-advisor" : f.file;
    if (f.line > 0) {
      where += ":" + std::to_string(f.line);
    }
    out +=
      escape_text(where) + ": " + to_string(f.severity) + ": " + escape_text(f.message) + " [" + f.id + "]\n";
  }
  std::string names;
  for (const auto& f : files) {
    // "FILE -> DEST"; with --dest FILE is shown as DEST already
    const bool same = f.display == f.dest.string();
    names += (names.empty() ? "" : ", ") + escape_text(f.display) +
             (same ? "" : " -> " + escape_text(f.dest.string()));
  }
  if (!errors.empty()) {
    out += "check: INCOMPLETE: " + counted(errors.size(), "configuration path") +
           " the loaders read could not be read (see stderr), so what wins at boot "
           "is unknown; " +
           counted(report.errors(), "error") + ", " + counted(report.warnings(), "warning") +
           " found in what could be read, in " + names + " (root " + escape_text(root) + ")\n";
  } else if (report.errors() > 0) {
    out += "check: " + counted(report.errors(), "error") + ", " + counted(report.warnings(), "warning") +
           " in " + names + " (root " + escape_text(root) + "): do not install\n";
  } else {
    out += "check: OK, " + counted(report.warnings(), "warning") + " in " + names + " (root " +
           escape_text(root) + ")\n";
  }
  return out;
}

nlohmann::json check_to_json(const CheckOutcome& o)
{
  const auto& [files, assumed, report, listening_checked, listening_note, root, errors, exit_code] = o;
  nlohmann::json j;
  j["root"] = escape_text(root);
  j["files"] = nlohmann::json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    j["files"].push_back(
      { { "file", escape_text(files[i].input.empty() ? files[i].display : files[i].input) },
        { "dest", escape_text(files[i].dest.string()) },
        { "dest_assumed", assumed[i] } });
  }
  j["findings"] = nlohmann::json::array();
  for (const auto& f : report.findings) {
    nlohmann::json item;
    item["id"] = f.id;
    item["severity"] = to_string(f.severity);
    item["file"] = f.file.empty() ? nlohmann::json() : nlohmann::json(escape_text(f.file));
    item["line"] = f.line == 0 ? nlohmann::json() : nlohmann::json(f.line);
    item["key"] = f.key.empty() ? nlohmann::json() : nlohmann::json(escape_text(f.key));
    item["message"] = escape_text(f.message);
    j["findings"].push_back(item);
  }
  j["error_count"] = report.errors(); // schema 2: "errors" is now the input-error array
  j["warnings"] = report.warnings();
  j["listening_ports_checked"] = listening_checked;
  j["errors"] = errors_json(errors);
  j["complete"] = errors.empty();
  j["exit_code"] = exit_code;
  return j;
}

// The JSON printed for an input error that stopped the check before any finding (exit 1): every
// field of a full report, so a consumer never meets a missing key.
nlohmann::json check_input_error_json(const std::string& root,
                                      const std::vector<std::string>& files,
                                      bool dest_assumed,
                                      const InputError& error)
{
  nlohmann::json j;
  j["root"] = escape_text(root);
  j["files"] = nlohmann::json::array();
  for (const auto& file : files) {
    j["files"].push_back(
      { { "file", escape_text(file) }, { "dest", nullptr }, { "dest_assumed", dest_assumed } });
  }
  j["findings"] = nlohmann::json::array();
  j["error_count"] = 0;
  j["warnings"] = 0;
  j["listening_ports_checked"] = false;
  j["errors"] = errors_json({ error });
  j["complete"] = false;
  j["exit_code"] = 1;
  return j;
}

} // namespace tw
