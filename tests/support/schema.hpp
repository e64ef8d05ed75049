#pragma once

#include <string>
#include <vector>

namespace tw::test {

// Why `text` is not a valid tw-advisor JSON document (schema/<kind>.schema.json, chosen by its
// "kind"), or "" when it is. One validator process (tests/tools/validate_json.py --serve, found
// through TW_SCHEMA_VALIDATOR and TW_SCHEMA_DIR) serves the whole test binary; throws when it
// cannot be started, so a missing validator fails tests instead of skipping the check.
std::string schema_problem(const std::string& text);

// Whether argv runs tw-advisor (TW_ADVISOR_BIN, directly or through ip netns exec / nsenter) asking
// for --format json, so that its stdout must be one valid document (doc/json.md). --help and
// --version print text.
bool asks_tw_advisor_for_json(const std::vector<std::string>& argv);

} // namespace tw::test
