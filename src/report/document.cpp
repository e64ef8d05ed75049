#include "report/document.hpp"

#include "util/version.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace tw {

using nlohmann::ordered_json;

ordered_json document_header(DocumentKind kind, const HostInfo& host)
{
  ordered_json j = ordered_json::object();
  j["schema_version"] = schema_version(kind);
  j["kind"] = to_string(kind);
  j["generator"] = std::string("tw-advisor ") + k_version;
  j["generated_at"] = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
  ordered_json netns = nullptr;
  if (host.netns_inode != 0) {
    const auto nullable = [](const std::string& s) {
      return s.empty() ? ordered_json(nullptr) : ordered_json(s);
    };
    netns = { { "inode", host.netns_inode },
              { "kind", nullable(host.netns_kind) },
              { "name", nullable(host.netns_name) } };
  }
  j["host"] = { { "hostname", host.hostname }, { "netns", std::move(netns) } };
  return j;
}

ordered_json make_document(DocumentKind kind, const HostInfo& host, const ordered_json& body)
{
  ordered_json j = document_header(kind, host);
  for (const auto& [key, value] : body.items()) {
    if (!j.contains(key)) {
      j[key] = value;
    }
  }
  return j;
}

ordered_json make_document(DocumentKind kind, const HostInfo& host, const nlohmann::json& body)
{
  return make_document(kind, host, ordered_json(body));
}

} // namespace tw
