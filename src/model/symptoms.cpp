#include "model/symptoms.hpp"

#include <utility>

namespace tw {

const char* to_string(EvidenceSource source)
{
  return source == EvidenceSource::probe ? "probe" : "counters";
}

std::optional<EvidenceSource> evidence_source_from_string(std::string_view text)
{
  if (text == "probe") {
    return EvidenceSource::probe;
  }
  if (text == "counters") {
    return EvidenceSource::counters;
  }
  return std::nullopt;
}

std::uint64_t SymptomEvidence::total_eaddrnotavail() const
{
  std::uint64_t n = 0;
  for (const auto& d : destinations) {
    n += d.connect_eaddrnotavail;
  }
  return n;
}

std::uint64_t SymptomEvidence::total_bind_eaddrinuse() const
{
  std::uint64_t n = 0;
  for (const auto& b : bind_eaddrinuse) {
    n += b.count;
  }
  return n;
}

std::uint64_t SymptomEvidence::total_recycled_failed() const
{
  std::uint64_t n = 0;
  for (const auto& d : destinations) {
    n += d.recycled_failed;
  }
  return n;
}

const SymptomDestination* SymptomEvidence::destination(std::string_view name) const
{
  for (const auto& d : destinations) {
    if (d.destination == name) {
      return &d;
    }
  }
  return nullptr;
}

SymptomEvidence counters_evidence(std::string reason)
{
  SymptomEvidence evidence;
  evidence.source = EvidenceSource::counters;
  evidence.reason = std::move(reason);
  return evidence;
}

} // namespace tw
