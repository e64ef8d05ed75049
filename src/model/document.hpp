#pragma once

namespace tw {

// Every JSON document a command prints, by kind. Each kind has its own schema_version and its
// own JSON Schema, schema/<kind>.schema.json (doc/json.md).
enum class DocumentKind
{
  plan,
  census,
  node_plan,
  node_census,
  check,
  apply,
  rollback,
  status,
  error,
};

// "plan", "census", "node-plan", "node-census", "check", "apply", "rollback", "status", "error".
const char* to_string(DocumentKind kind);

// The schema version of a kind: changed only on an incompatible change (a field removed,
// renamed or retyped, a value's meaning changed); added fields keep it (doc/json.md).
int schema_version(DocumentKind kind);

} // namespace tw
