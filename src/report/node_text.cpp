#include "report/node_text.hpp"

#include "model/census.hpp"
#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <fmt/format.h>

namespace tw {

namespace {

constexpr std::size_t k_width = 80;

std::string kind_note(const NetnsInfo& ns)
{
  if (ns.kind == NetnsKind::host) {
    return "";
  }
  return std::string(" (") + to_string(ns.kind) + ")";
}

std::string ports_text(const NamespacePlan& p)
{
  const DestGroup* top = p.top_group();
  if (top == nullptr || top->usable == 0) {
    return "-";
  }
  return fmt::format("{:.0f}%", top->pressure * 100.0);
}

std::string detail_line(const NamespacePlan& p)
{
  if (!p.plan) {
    return p.skipped;
  }
  // The measured symptom first (it decides at 3 a.m.), then the reason that is not the pressure
  // numbers again (the PORTS column and the destination already say those).
  std::string out;
  if (const DestGroup* top = p.top_group(); top != nullptr && top->in_use > 0) {
    out = endpoint_text(top->family, top->remote, top->remote_port);
  }
  if (p.facts && p.facts->evidence.total_eaddrnotavail() > 0) {
    out += fmt::format(
      "{}{} connect() EADDRNOTAVAIL", out.empty() ? "" : ": ", p.facts->evidence.total_eaddrnotavail());
  }
  const auto& reasons = p.plan->reasons;
  const bool first_is_pressure =
    !reasons.empty() && reasons.front().rfind("Outbound TIME_WAIT holds", 0) == 0;
  const std::string& reason = first_is_pressure && reasons.size() > 1
                                ? reasons[1]
                                : (reasons.empty() ? std::string() : reasons.front());
  if (!reason.empty()) {
    out += (out.empty() ? "" : ": ") + reason;
  }
  return out;
}

// label ("note:") and the text, wrapped at spaces to width (a word longer than the width stays
// whole), continuation lines indented under the text.
std::string note_lines(const std::string& note, std::size_t width, const std::string& label = "note:")
{
  return wrap_text(note, width, label + " ", std::string(label.size() + 1, ' '));
}

// How the sockets were read: which path ran, and why the other did not.
std::string sockets_lines(const NodeSocketRead& read)
{
  std::string text;
  switch (read.reader) {
    case SocketReader::bpf_walk:
      text = fmt::format("one BPF pass over the shared TCP hash ({} socket{}, {:.0f} ms), listeners by "
                         "sock_diag in each namespace",
                         read.walked_sockets,
                         read.walked_sockets == 1 ? "" : "s",
                         read.walk_ms);
      break;
    case SocketReader::bpf_iter:
      text = "the BPF TCP iterator in each namespace";
      break;
    default:
      text = "sock_diag in each namespace";
      break;
  }
  if (read.reader != SocketReader::bpf_walk && !read.reason.empty()) {
    text += " (" + read.reason + ")";
  }
  if (read.unlisted_sockets > 0) {
    text += fmt::format("; {} socket{} of namespaces that appeared during the run were not counted",
                        read.unlisted_sockets,
                        read.unlisted_sockets == 1 ? "" : "s");
  }
  if (read.fell_back > 0) {
    text += fmt::format("; {} namespace{} read another way:", read.fell_back, read.fell_back == 1 ? "" : "s");
  }
  std::string out = note_lines(text, k_width, "sockets:");
  constexpr std::size_t k_shown = 5;
  for (std::size_t i = 0; i < read.others.size() && i < k_shown; ++i) {
    out += note_lines(read.others[i], k_width, "        -");
  }
  if (read.others.size() > k_shown) {
    out += fmt::format("         and {} more (--format json: each one's census notes)\n",
                       read.others.size() - k_shown);
  }
  return out;
}

} // namespace

std::string fit_width(const std::string& s, std::size_t width)
{
  if (s.size() <= width) {
    return s;
  }
  std::size_t cut = width > 3 ? width - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut; // never inside a UTF-8 sequence
  }
  return s.substr(0, cut) + "...";
}

std::string node_plan_to_text(const NodePlan& node, const PlanTextOptions& options)
{
  std::size_t helps = 0;
  std::size_t blocked = 0;
  std::size_t skipped = 0;
  for (const auto& p : node.namespaces) {
    if (!p.plan) {
      ++skipped;
    } else if (p.plan->verdict == Verdict::helps) {
      ++helps;
    } else if (p.plan->verdict == Verdict::blocked) {
      ++blocked;
    }
  }
  std::string out = fmt::format("tw-advisor plan --all-netns on {}: {} network namespace{}\n",
                                node.hostname,
                                node.namespaces.size(),
                                node.namespaces.size() == 1 ? "" : "s");
  out += fmt::format("tcp_tw_reuse helps in {}, is blocked in {}", helps, blocked);
  out += skipped > 0 ? fmt::format("; {} skipped\n\n", skipped) : std::string("\n\n");
  out += fmt::format("{:<22}{:>5}  {}\n", "VERDICT", "PORTS", "NAMESPACE");
  for (const auto& p : node.namespaces) {
    const std::string verdict = p.plan ? to_string(p.plan->verdict) : "skipped";
    out += fmt::format(
      "{:<22}{:>5}  {}\n", verdict, p.plan ? ports_text(p) : "", fit_width(p.netns.name, k_width - 29));
    if (const auto detail = detail_line(p); !detail.empty()) {
      out += "    " + fit_width(detail, k_width - 4) + "\n";
    }
  }
  out += sockets_lines(node.sockets);
  for (const auto& note : node.notes) {
    out += note_lines(note, k_width);
  }
  for (const auto& p : node.namespaces) {
    if (!p.plan || (p.plan->verdict != Verdict::helps && p.plan->verdict != Verdict::blocked)) {
      continue;
    }
    out += "\n" +
           fit_width(fmt::format("=== {}{}, netns {} ===", p.netns.name, kind_note(p.netns), p.netns.inode),
                     k_width) +
           "\n";
    PlanTextOptions each = options;
    each.evidence = p.facts ? &p.facts->evidence : nullptr;
    // How to reach this namespace again: its ip netns name, else a process in it.
    if (p.netns.kind != NetnsKind::host) {
      each.netns = netns_spec(p.netns);
    }
    out += plan_to_text(*p.plan, each);
  }
  return out;
}

std::string node_census_to_text(const NodeCensus& node)
{
  std::string out = fmt::format("tw-advisor census --all-netns on {}: {} network namespace{}\n\n",
                                node.hostname,
                                node.namespaces.size(),
                                node.namespaces.size() == 1 ? "" : "s");
  out += fmt::format("{:>9} {:>9} {:>6}  {}\n", "TIME_WAIT", "OUTBOUND", "PORTS", "NAMESPACE");
  for (const auto& c : node.namespaces) {
    if (!c.census) {
      out += fmt::format("{:>9} {:>9} {:>6}  {}\n", "-", "-", "-", fit_width(c.netns.name, k_width - 28));
      out += "    skipped: " + fit_width(c.skipped, k_width - 13) + "\n";
      continue;
    }
    const SocketCensus& s = *c.census;
    const DestGroup* top = most_pressured(s);
    out +=
      fmt::format("{:>9} {:>9} {:>6}  {}\n",
                  s.states[static_cast<std::size_t>(TcpState::time_wait)],
                  s.time_wait.outbound,
                  top != nullptr && top->usable > 0 ? fmt::format("{:.0f}%", top->pressure * 100.0) : "-",
                  fit_width(c.netns.name, k_width - 28));
    if (top != nullptr && top->in_use > 0) {
      out += "    " +
             fit_width(
               endpoint_text(top->family, top->remote, top->remote_port) +
                 fmt::format(
                   ": {} of {} source ports in use ({} TIME_WAIT)", top->in_use, top->usable, top->time_wait),
               k_width - 4) +
             "\n";
    }
  }
  out += sockets_lines(node.sockets);
  for (const auto& note : node.notes) {
    out += note_lines(note, k_width);
  }
  return out;
}

} // namespace tw
