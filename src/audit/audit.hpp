#pragma once

#include "state/journal.hpp"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace tw {

// What tw-advisor did to a kernel, or saw change, as the system journal records it: one entry per
// event and per sysctl key, with structured fields an operator can filter on
// (`journalctl MESSAGE_ID=... TW_ADVISOR_KEY=net.ipv4.tcp_tw_reuse`). doc/audit.md lists them.
enum class AuditKind
{
  applied,             // a key was written (apply)
  apply_failed,        // an apply failed and was rolled back (the keys are as before)
  rolled_back,         // `tw-advisor rollback` put a key back
  watch_rolled_back,   // the watch after an apply saw it go wrong and put a key back
  verdict_changed,     // the monitor's verdict for a namespace changed
  rollback_incomplete, // a rollback could not restore everything: a key may still hold NEW
};

// The 128-bit MESSAGE_ID of each kind (journalctl's catalog convention), and its name.
const char* message_id(AuditKind kind);
const char* to_string(AuditKind kind);

struct AuditEvent
{
  AuditKind kind = AuditKind::applied;
  std::string message;                                     // MESSAGE: one line for a person
  std::vector<std::pair<std::string, std::string>> fields; // TW_ADVISOR_* name (without prefix), value
};

// One event per changed key: TW_ADVISOR_KEY, _OLD and _NEW (always the apply's value before and
// the value it wrote; the event says which way it went), plus the fields given in common (the
// journal id, the plan hash, the reason). what starts the message ("apply", "rollback" ...).
struct AuditChange
{
  std::string key;
  std::string old_value;
  std::string new_value;
};
std::vector<AuditEvent> change_events(AuditKind kind,
                                      const std::vector<AuditChange>& changes,
                                      const std::vector<std::pair<std::string, std::string>>& common,
                                      const std::string& what);

// The events of an apply's journal: one per key among the first `keys` of its changes (the keys
// written so far), with the journal id, the plan's hash and source, the namespace inode and, when
// not empty, the reason.
std::vector<AuditEvent> journal_events(AuditKind kind,
                                       const Journal& journal,
                                       const std::string& what,
                                       const std::string& reason,
                                       std::size_t keys = static_cast<std::size_t>(-1));

// The entry as journald's native fields, in order: MESSAGE_ID, MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER, TW_ADVISOR_EVENT, then TW_ADVISOR_<NAME> for each field. Pure.
std::vector<std::string> journal_fields(const AuditEvent& event);

// The fallback line when there is no journal: "tw-advisor audit: " and the fields as NAME=value,
// values a shell would split in single quotes (as shell_word() quotes them). Pure.
std::string audit_line(const AuditEvent& event);

// Sends each event to the system journal (sd_journal_sendv) when journald's socket exists, else
// writes audit_line() to stderr. Never throws: an audit that cannot be written is said on stderr,
// and what it records has already happened.
void audit(const std::vector<AuditEvent>& events) noexcept;

} // namespace tw
