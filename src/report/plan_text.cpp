#include "report/plan_text.hpp"

#include "report/evidence_text.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <sys/ioctl.h>
#include <unistd.h>

namespace tw {

namespace {

constexpr const char* k_reset = "\033[0m";
constexpr const char* k_bold = "\033[1m";
constexpr const char* k_red = "\033[1;31m";
constexpr const char* k_green = "\033[1;32m";
constexpr const char* k_yellow = "\033[1;33m";
constexpr const char* k_dim = "\033[2m";

class Painter
{
public:
  explicit Painter(bool on)
    : m_on(on)
  {
  }
  std::string operator()(const char* code, const std::string& text) const
  {
    return m_on ? std::string(code) + text + k_reset : text;
  }

private:
  bool m_on;
};

const char* verdict_colour(Verdict v)
{
  switch (v) {
    case Verdict::helps:
      return k_yellow; // action proposed
    case Verdict::irrelevant:
    case Verdict::already_enabled:
      return k_green;
    case Verdict::blocked:
    case Verdict::insufficient_evidence:
      return k_red;
  }
  return k_bold;
}

std::string headline(Verdict v)
{
  switch (v) {
    case Verdict::helps:
      return "HELPS: net.ipv4.tcp_tw_reuse would relieve outbound TIME_WAIT pressure here";
    case Verdict::irrelevant:
      return "IRRELEVANT: net.ipv4.tcp_tw_reuse would change nothing here";
    case Verdict::already_enabled:
      return "ALREADY ENABLED: net.ipv4.tcp_tw_reuse already covers the pressured traffic";
    case Verdict::blocked:
      return "BLOCKED: net.ipv4.tcp_tw_reuse would help, but a prerequisite fails";
    case Verdict::insufficient_evidence:
      return "INSUFFICIENT EVIDENCE: the facts could not be read well enough to judge";
  }
  return "UNKNOWN";
}

const char* status_colour(PrereqStatus s)
{
  switch (s) {
    case PrereqStatus::ok:
      return k_green;
    case PrereqStatus::warning:
      return k_yellow;
    case PrereqStatus::error:
      return k_red;
  }
  return k_bold;
}

const char* severity_colour(Severity s)
{
  switch (s) {
    case Severity::info:
      return k_dim;
    case Severity::warning:
      return k_yellow;
    case Severity::error:
      return k_red;
  }
  return k_bold;
}

std::string pad(const std::string& s, std::size_t width)
{
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// The proposed change that fixes a failing prerequisite: the change to the sysctl it is named
// after (tcp_timestamps -> net.ipv4.tcp_timestamps, tw_reuse_delay -> net.ipv4.tcp_tw_reuse_delay),
// or nullptr.
const Change* fixing_change(const Plan& plan, const Prerequisite& p)
{
  if (p.status != PrereqStatus::error) {
    return nullptr;
  }
  const std::array<std::string, 2> suffixes = { "." + p.id, ".tcp_" + p.id };
  for (const auto& suffix : suffixes) {
    for (const auto& c : plan.changes) {
      if (c.key.size() > suffix.size() &&
          c.key.compare(c.key.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return &c;
      }
    }
  }
  return nullptr;
}

} // namespace

bool colour_wanted_on_stdout()
{
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') {
    return false;
  }
  return ::isatty(STDOUT_FILENO) == 1;
}

namespace {

std::size_t text_width_of(int fd)
{
  winsize ws{};
  if (::isatty(fd) == 1 && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return std::max<std::size_t>(20, ws.ws_col);
  }
  return 80;
}

} // namespace

std::size_t text_width_of_stdout()
{
  return text_width_of(STDOUT_FILENO);
}

std::size_t text_width_of_stderr()
{
  return text_width_of(STDERR_FILENO);
}

namespace {

// "host web7, network namespace host, inode 4026531840": what was judged, as far as it is known.
std::string judged_line(const HostInfo& host)
{
  std::string netns;
  if (!host.netns_name.empty() && host.netns_name != host.netns_kind) {
    netns = host.netns_name + " (" + host.netns_kind + ")";
  } else if (!host.netns_kind.empty()) {
    netns = host.netns_kind;
  } else {
    netns = "not identified";
  }
  if (host.netns_inode != 0) {
    netns += ", inode " + std::to_string(host.netns_inode);
  }
  return "host " + (host.hostname.empty() ? std::string("(unknown)") : host.hostname) +
         ", network namespace " + netns;
}

// The caveat a prerequisite states is said under Why, word for word, when it is one of the reasons.
bool caveat_in_why(const Plan& plan, const Prerequisite& p)
{
  return std::find(plan.reasons.begin(), plan.reasons.end(), "Caveat: " + p.detail + ".") !=
         plan.reasons.end();
}

// A finding's summary, or where the text already says it (Finding::told_in).
std::string told_in_text(const Plan& plan, const Finding& f)
{
  if (f.told_in == k_told_in_reasons) {
    return "see Why";
  }
  const std::string_view prefix = "prerequisites.";
  if (f.told_in.starts_with(prefix)) {
    const std::string id = f.told_in.substr(prefix.size());
    const auto p = std::find_if(plan.prerequisites.begin(),
                                plan.prerequisites.end(),
                                [&](const Prerequisite& q) { return q.id == id; });
    if (p != plan.prerequisites.end()) {
      return caveat_in_why(plan, *p) ? "see Why" : "see " + id + " under Prerequisites";
    }
  }
  return f.summary;
}

} // namespace

std::string plan_to_text(const Plan& plan, const PlanTextOptions& options)
{
  const Painter paint(options.colour);
  std::string out;
  if (plan.finding("apply-interrupted") != nullptr) {
    // The values now are what a killed apply left: a verdict over them must not lead.
    out += paint(k_red, "INTERRUPTED APPLY: the last apply never finished; roll it back first") + "\n";
    out += paint(k_dim, std::string("verdict over the values it left: ") + to_string(plan.verdict)) + "\n";
  } else {
    out += paint(verdict_colour(plan.verdict), headline(plan.verdict)) + "\n";
  }
  const std::size_t width = options.width;
  // The header's dim lines, wrapped like the rest.
  const auto header = [&](const std::string& line) {
    const std::string wrapped = wrap_text(line, width, "", "  "); // split() views it: keep it alive
    for (const auto part : split(wrapped, '\n')) {
      if (!part.empty()) {
        out += paint(k_dim, std::string(part)) + "\n";
      }
    }
  };
  if (options.host != nullptr) {
    header(judged_line(*options.host));
  }
  header("profile " + plan.profile_id + ", policy " + plan.policy_id);
  if (options.evidence != nullptr) {
    header(evidence_line(*options.evidence));
  }
  out += "\n";

  out += paint(k_bold, "Why") + "\n";
  for (const auto& r : plan.reasons) {
    out += wrap_text(r, width, "  - ", "    ");
  }

  out += "\n" + paint(k_bold, "Prerequisites") + "\n";
  std::size_t id_width = 0;
  for (const auto& p : plan.prerequisites) {
    id_width = std::max(id_width, p.id.size());
  }
  for (const auto& p : plan.prerequisites) {
    // Said once: a caveat already in Why is not repeated here word for word.
    out += wrap_text(caveat_in_why(plan, p) ? std::string("the caveat under Why") : p.detail,
                     width,
                     "  " + paint(status_colour(p.status), pad(to_string(p.status), 7)) + "  " +
                       pad(p.id, id_width) + "  ",
                     std::string(2 + 7 + 2 + id_width + 2, ' '));
    // A failing prerequisite under a HELPS verdict reads as a contradiction unless the plan says
    // which of its own changes fixes it.
    if (const Change* fix = fixing_change(plan, p); fix != nullptr) {
      const std::string indent(2 + 7 + 2, ' ');
      out += wrap_text(paint(k_bold, "-> fixed by the proposed change " + fix->key + " = " + fix->target),
                       width,
                       indent,
                       indent);
    }
  }

  out += "\n";
  if (plan.changes.empty()) {
    out += paint(k_bold, "Proposed changes") + ": none\n";
  } else {
    out += paint(k_bold, "Proposed changes") + " (applied in this order)\n";
    std::size_t wk = 3;
    std::size_t wn = 3;
    std::size_t wp = 8;
    for (const auto& c : plan.changes) {
      wk = std::max(wk, c.key.size());
      wn = std::max(wn, c.current.size());
      wp = std::max(wp, c.target.size());
    }
    // WHY wraps in its own column while that leaves it room; else under the row.
    const std::size_t why_at = 2 + wk + 2 + wn + 2 + wp + 2;
    const bool why_beside = why_at + 30 <= width;
    out += "  " + pad("KEY", wk) + "  " + pad("NOW", wn) + "  " + pad("PROPOSED", wp) +
           (why_beside ? "  WHY" : "") + "\n";
    for (const auto& c : plan.changes) {
      const std::string row = "  " + pad(c.key, wk) + "  " + pad(c.current, wn) + "  " + pad(c.target, wp);
      out += why_beside ? wrap_text(c.reason, width, row + "  ", std::string(why_at, ' '))
                        : row + "\n" + wrap_text(c.reason, width, "    why: ", "         ");
    }
  }

  if (!plan.findings.empty()) {
    out += "\n" + paint(k_bold, "Findings") + "\n";
    // The worst first; a finding whose numbers Why or a prerequisite already states points there.
    std::vector<const Finding*> worst_first;
    for (const auto& f : plan.findings) {
      worst_first.push_back(&f);
    }
    std::stable_sort(worst_first.begin(), worst_first.end(), [](const Finding* x, const Finding* y) {
      return static_cast<int>(x->severity) > static_cast<int>(y->severity); // enum order: info < error
    });
    for (const Finding* fp : worst_first) {
      const Finding& f = *fp;
      out += wrap_text(f.id + ": " + told_in_text(plan, f),
                       width,
                       "  " + paint(severity_colour(f.severity), pad(to_string(f.severity), 7)) + "  ",
                       std::string(2 + 7 + 2, ' '));
    }
  }

  if (!plan.advice.empty()) {
    out += "\n" + paint(k_bold, "Advice") + "\n";
    for (const auto& a : plan.advice) {
      out += wrap_text(a.text + " [" + a.id + "]", width, "  - ", "    ");
    }
  }

  out += "\n";
  // In another namespace the commands must reach it, and apply there changes runtime values only.
  const std::string judged = (options.netns.empty() ? "" : "--netns " + shell_word(options.netns) + " ") +
                             (options.target_args.empty() ? "" : options.target_args.substr(1) + " ");
  const std::string there = judged + (options.netns.empty() && !options.runtime_only ? "" : "--no-persist ");
  const std::string plan_args = options.plan_args.empty() ? "" : options.plan_args.substr(1) + " ";
  const std::string apply_args = options.apply_args.empty() ? "" : options.apply_args.substr(1) + " ";
  // The next step, wrapped like the rest (a command is kept whole on a line where it fits).
  std::string next;
  std::string first; // what to settle before following the next step
  if (plan.finding("apply-interrupted") != nullptr) {
    next += "Next: roll back the interrupted apply first (see apply-interrupted above), then plan again.\n";
  } else if (!plan.changes.empty() && !options.saved_to.empty()) {
    next += "Saved to " + options.saved_to + ". Next: review it, then `tw-advisor apply " + there +
            apply_args + "--plan " + shell_word(options.saved_to) +
            "` (add --canary where source NAT is in the path).\n";
  } else if (!plan.changes.empty()) {
    // One file per namespace: following the hints of several namespaces in turn keeps each plan.
    std::string file = "plan.json";
    if (!options.netns.empty()) {
      file = "plan-" + options.netns + ".json";
      std::replace_if(
        file.begin(),
        file.end(),
        [](char c) { return std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-'; },
        '_');
    }
    next += "Next: save the plan with `tw-advisor plan " + judged + plan_args + "--out " + file +
            "`, review it, then " + "`tw-advisor apply " + there + apply_args + "--plan " + file +
            "` (add --canary where source NAT is in the path).\n";
  } else if (!options.saved_to.empty()) {
    next += "Saved to " + options.saved_to + ". Nothing to apply.\n";
  } else {
    next += "Nothing to apply. JSON with every number: `tw-advisor plan --format json`.\n";
  }
  // Only before an apply the next step shows, and not what its options already get past.
  const bool apply_next = !plan.changes.empty() && plan.finding("apply-interrupted") == nullptr;
  if (apply_next && there.find("--no-persist") == std::string::npos &&
      plan.finding("persist-overridden") != nullptr) {
    first += "First: apply refuses to persist while another sysctl.d file overrides the change (see "
             "persist-overridden above): fix that file, or add --no-persist to the apply below (the change "
             "then lasts until reboot).\n";
  }
  // apply refuses to fight another owner of a changed key (finding tuner-owns-key as a warning, or
  // runtime-owns-key): the next step must say so rather than lead into the refusal.
  const auto owned = std::find_if(plan.findings.begin(), plan.findings.end(), [](const Finding& f) {
    return f.id == "runtime-owns-key" || (f.id == "tuner-owns-key" && f.severity == Severity::warning);
  });
  if (apply_next && owned != plan.findings.end()) {
    first += "First: apply refuses while another owner sets a key it changes (see " + owned->id +
             " above): change the value there, or add --force to the apply below.\n";
  }
  // What would make the commands below fail comes before them, not after.
  next = first + next;
  for (const auto line : split(next, '\n')) {
    if (!line.empty()) {
      out += wrap_text(line, width, "", "");
    }
  }
  return out;
}

} // namespace tw
