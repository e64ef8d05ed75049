#include "model/plan.hpp"

#include <array>
#include <utility>

namespace tw {

namespace {

constexpr std::array<std::pair<Verdict, const char*>, 5> k_verdicts = { {
  { Verdict::helps, "helps" },
  { Verdict::irrelevant, "irrelevant" },
  { Verdict::already_enabled, "already-enabled" },
  { Verdict::blocked, "blocked" },
  { Verdict::insufficient_evidence, "insufficient-evidence" },
} };

constexpr std::array<std::pair<PrereqStatus, const char*>, 3> k_statuses = { {
  { PrereqStatus::ok, "ok" },
  { PrereqStatus::warning, "warning" },
  { PrereqStatus::error, "error" },
} };

template<typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& table, E value)
{
  for (const auto& [v, name] : table) {
    if (v == value) {
      return name;
    }
  }
  return "unknown";
}

template<typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, const char*>, N>& table, std::string_view text)
{
  for (const auto& [v, name] : table) {
    if (text == name) {
      return v;
    }
  }
  return std::nullopt;
}

template<typename T>
const T* by_id(const std::vector<T>& items, std::string_view id)
{
  for (const auto& item : items) {
    if (item.id == id) {
      return &item;
    }
  }
  return nullptr;
}

} // namespace

const char* to_string(Verdict verdict)
{
  return name_of(k_verdicts, verdict);
}

std::optional<Verdict> verdict_from_string(std::string_view text)
{
  return value_of(k_verdicts, text);
}

const char* to_string(PrereqStatus status)
{
  return name_of(k_statuses, status);
}

std::optional<PrereqStatus> prereq_status_from_string(std::string_view text)
{
  return value_of(k_statuses, text);
}

const Prerequisite* Plan::prerequisite(std::string_view id) const
{
  return by_id(prerequisites, id);
}

const Finding* Plan::finding(std::string_view id) const
{
  return by_id(findings, id);
}

const Advice* Plan::advice_for(std::string_view id) const
{
  return by_id(advice, id);
}

} // namespace tw
