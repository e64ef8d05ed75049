// The audit log: what tw-advisor changed, into the system journal with fields to filter on.
#include "audit/audit.hpp"

#include "util/strings.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

namespace tw {

namespace {

constexpr const char* k_journal_socket = "/run/systemd/journal/socket";

int priority(AuditKind kind)
{
  switch (kind) {
    case AuditKind::rollback_incomplete:
      return 3; // error: a key may still hold the applied value
    case AuditKind::apply_failed:
    case AuditKind::watch_rolled_back:
      return 4; // warning: something went wrong and was undone
    case AuditKind::verdict_changed:
      return 6; // info
    case AuditKind::applied:
    case AuditKind::rolled_back:
      break;
  }
  return 5; // notice: a kernel setting changed
}

// "ROLLBACK_REASON" from "rollback_reason": journald field names are upper case, digits and _.
std::string field_name(std::string_view name)
{
  std::string out = "TW_ADVISOR_";
  for (const char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c))
             ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
             : '_';
  }
  return out;
}

// Journal values are one line here: a newline would be legal but unreadable in the fallback.
std::string one_line(std::string_view value)
{
  std::string out(value);
  for (char& c : out) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return out;
}

bool journal_wanted()
{
  const char* forced = std::getenv("TW_ADVISOR_AUDIT");
  if (forced != nullptr && std::string_view(forced) == "stderr") {
    return false; // containers without journald, and the tests
  }
  return ::access(k_journal_socket, W_OK) == 0;
}

} // namespace

const char* message_id(AuditKind kind)
{
  switch (kind) {
    case AuditKind::applied:
      return "c385e0a2b9fb4d678664bf357bd0eeb0";
    case AuditKind::apply_failed:
      return "7957472a5a9444adaa2aa4bb41ebd22b";
    case AuditKind::rolled_back:
      return "3187219803ca4cfeb4953bcc102fe146";
    case AuditKind::watch_rolled_back:
      return "d03ff942b65147d3b60448bf79d731e0";
    case AuditKind::verdict_changed:
      return "888df89aafe14aad86d9f4dd27508b7e";
    case AuditKind::rollback_incomplete:
      return "7cb1eec22f4d453ab3fec238101299c8";
  }
  return "";
}

const char* to_string(AuditKind kind)
{
  switch (kind) {
    case AuditKind::applied:
      return "applied";
    case AuditKind::apply_failed:
      return "apply-failed";
    case AuditKind::rolled_back:
      return "rolled-back";
    case AuditKind::watch_rolled_back:
      return "watch-rolled-back";
    case AuditKind::verdict_changed:
      return "verdict-changed";
    case AuditKind::rollback_incomplete:
      return "rollback-incomplete";
  }
  return "";
}

std::vector<AuditEvent> change_events(AuditKind kind,
                                      const std::vector<AuditChange>& changes,
                                      const std::vector<std::pair<std::string, std::string>>& common,
                                      const std::string& what)
{
  std::vector<AuditEvent> out;
  for (const auto& c : changes) {
    AuditEvent e;
    e.kind = kind;
    switch (kind) {
      case AuditKind::applied:
        e.message = what + ": " + c.key + " " + c.old_value + " -> " + c.new_value;
        break;
      case AuditKind::apply_failed:
        e.message = what + ": " + c.key + " left at " + c.old_value + " (not " + c.new_value + ")";
        break;
      case AuditKind::rolled_back:
      case AuditKind::watch_rolled_back:
      case AuditKind::verdict_changed:
        e.message = what + ": " + c.key + " back to " + c.old_value + " (was " + c.new_value + ")";
        break;
      case AuditKind::rollback_incomplete:
        e.message =
          what + ": " + c.key + " may still be " + c.new_value + " (before the apply: " + c.old_value + ")";
        break;
    }
    e.fields = { { "key", c.key }, { "old", c.old_value }, { "new", c.new_value } };
    e.fields.insert(e.fields.end(), common.begin(), common.end());
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<AuditEvent> journal_events(AuditKind kind,
                                       const Journal& journal,
                                       const std::string& what,
                                       const std::string& reason,
                                       std::size_t keys)
{
  std::vector<AuditChange> changes;
  for (std::size_t i = 0; i < journal.changes.size() && i < keys; ++i) {
    changes.push_back({ journal.changes[i].key, journal.changes[i].old_value, journal.changes[i].new_value });
  }
  std::vector<std::pair<std::string, std::string>> common = { { "journal", journal.id },
                                                              { "plan_sha256", journal.plan_sha256 },
                                                              { "plan_source", journal.plan_source },
                                                              { "netns",
                                                                std::to_string(journal.netns_inode) } };
  if (!reason.empty()) {
    common.emplace_back("reason", reason);
  }
  return change_events(kind, changes, common, what);
}

std::vector<std::string> journal_fields(const AuditEvent& event)
{
  std::vector<std::string> out = { std::string("MESSAGE_ID=") + message_id(event.kind),
                                   "MESSAGE=" + one_line(event.message),
                                   "PRIORITY=" + std::to_string(priority(event.kind)),
                                   "SYSLOG_IDENTIFIER=tw-advisor",
                                   std::string("TW_ADVISOR_EVENT=") + to_string(event.kind) };
  for (const auto& [name, value] : event.fields) {
    out.push_back(field_name(name) + "=" + one_line(value));
  }
  return out;
}

std::string audit_line(const AuditEvent& event)
{
  std::string line = "tw-advisor audit:";
  for (const auto& field : journal_fields(event)) {
    const std::size_t eq = field.find('=');
    if (field.compare(0, eq, "PRIORITY") == 0 || field.compare(0, eq, "SYSLOG_IDENTIFIER") == 0) {
      continue; // said by the line itself
    }
    line += " " + field.substr(0, eq + 1) + shell_word(field.substr(eq + 1));
  }
  return line;
}

namespace {

void send(const std::vector<AuditEvent>& events)
{
  const bool journal = journal_wanted();
  for (const auto& event : events) {
    if (journal) {
      const std::vector<std::string> fields = journal_fields(event);
      std::vector<iovec> iov;
      iov.reserve(fields.size());
      for (const auto& f : fields) {
        iov.push_back(
          { const_cast<char*>(f.data()), f.size() }); // NOLINT(cppcoreguidelines-pro-type-const-cast)
      }
      const int rc = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
      if (rc >= 0) {
        continue;
      }
      std::fprintf(stderr,
                   "tw-advisor: the system journal refused the audit entry (%s); it follows here\n",
                   std::strerror(-rc));
    }
    std::fprintf(stderr, "%s\n", audit_line(event).c_str());
  }
  std::fflush(stderr);
}

} // namespace

void audit(const std::vector<AuditEvent>& events) noexcept
{
  try {
    send(events);
  } catch (const std::exception& e) { // what it records has happened: never undo it for this
    std::fprintf(stderr, "tw-advisor: the audit entry could not be written: %s\n", e.what());
  }
}

} // namespace tw
