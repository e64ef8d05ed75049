#pragma once

#include "model/symptoms.hpp"

#include <string>

namespace tw {

// One line saying which evidence a plan or census used and why: "evidence: BPF probe over 5 s,
// 212 connect() EADDRNOTAVAIL, 0 bind() EADDRINUSE, 0 recycled connects failed" or "evidence:
// counters only (symptom evidence needs a window: --sample N)".
std::string evidence_line(const SymptomEvidence& evidence);

// What the probe measured, for census: the destinations with their connect() results, time and
// processes, then bind() failures. Empty when the source is the counters.
std::string evidence_to_text(const SymptomEvidence& evidence, std::size_t top);

} // namespace tw
