#pragma once

#include "model/document.hpp"
#include "model/facts.hpp"

#include <nlohmann/json.hpp>

namespace tw {

// The header every document starts with: schema_version, kind, generator, generated_at (UTC,
// RFC 3339, seconds) and host {hostname, netns {inode, kind, name}}: what the document is about,
// the namespace judged or changed; netns is null for the whole node (host.netns_inode 0).
nlohmann::ordered_json document_header(DocumentKind kind, const HostInfo& host);

// The header followed by the body's members (the body's own schema_version and generator, if
// any, give way to the header's).
nlohmann::ordered_json make_document(DocumentKind kind,
                                     const HostInfo& host,
                                     const nlohmann::ordered_json& body);
nlohmann::ordered_json make_document(DocumentKind kind, const HostInfo& host, const nlohmann::json& body);

} // namespace tw
