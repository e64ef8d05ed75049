#pragma once

#include "model/facts.hpp"
#include "model/plan.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tw {

// The plan document as plan prints it and `--out` writes it: the header (report/document.hpp)
// about facts.host, then plan_to_json's members.
nlohmann::ordered_json plan_document(const Plan& plan, const Facts& facts);

// The whole plan document (doc/plan-schema.md), in reading order: schema_version first, then
// verdict, reasons, changes (apply order), prerequisites, findings, advice, profile/policy ids,
// `sockets` (census_to_json's object) and `facts` (sysctls read with status, kernel, netns,
// counters, rates, nat). Strings are copied as read (a hostname may hold invalid UTF-8): write
// it with json_text (util/json_text.hpp), which replaces such bytes by U+FFFD.
nlohmann::ordered_json plan_to_json(const Plan& plan, const Facts& facts);

// The `facts` object of the plan document (everything but the sockets).
nlohmann::ordered_json facts_to_json(const Facts& facts);

} // namespace tw
