#include "sysctld/check.hpp"

#include "sysctld/generated_file.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/percent.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

namespace tw::sysctld {

namespace fs = std::filesystem;

namespace {

const std::string k_tw_recycle = "net.ipv4.tcp_tw_recycle";

std::string at(const Entry& e)
{
  return e.file + ":" + std::to_string(e.line);
}

// "net.ipv4.conf.eth9.rp_filter" names an interface other than all/default.
bool names_interface(const std::string& key)
{
  const auto parts = split(key, '.');
  if (parts.size() < 4 || parts[0] != "net") {
    return false;
  }
  const bool per_if = parts[2] == "conf" || parts[2] == "neigh";
  return per_if && parts[3] != "all" && parts[3] != "default";
}

std::string join_ports(const std::vector<std::uint16_t>& ports, std::size_t cap)
{
  std::string out;
  for (std::size_t i = 0; i < ports.size() && i < cap; ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(ports[i]);
  }
  if (ports.size() > cap) {
    out += " and " + std::to_string(ports.size() - cap) + " more";
  }
  return out;
}

// A merged value: what a file sets at boot (and which entry), else the running value.
struct Merged
{
  std::optional<std::string> value;
  std::optional<Entry> entry; // the winning file line; empty when the value is the running one
  bool proposed = false;      // the winning line is in a proposed file
};

class Collector
{
public:
  void add(Problem p, const std::string& loader = {})
  {
    if (fold_into_trailing_comment(p) || supersede(p)) {
      return;
    }
    const auto k = std::make_tuple(p.id, p.file, p.line, p.key, p.message);
    const auto it = m_index.find(k);
    if (it != m_index.end()) {
      if (!loader.empty()) {
        m_loaders[it->second].insert(loader);
      }
      return;
    }
    m_index.emplace(k, m_items.size());
    m_items.push_back(std::move(p));
    m_loaders.emplace_back();
    if (!loader.empty()) {
      m_loaders.back().insert(loader);
    }
  }

  // The findings; those seen under only some of the simulated loaders say which.
  std::vector<Problem> finish(std::size_t loader_count)
  {
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (!m_loaders[i].empty() && m_loaders[i].size() < loader_count) {
        std::string names;
        for (const auto& l : m_loaders[i]) {
          names += (names.empty() ? "" : ", ") + l;
        }
        m_items[i].message += " (under " + names + ")";
      }
    }
    std::vector<Problem> kept;
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (m_dropped.count(i) == 0) {
        kept.push_back(std::move(m_items[i]));
      }
    }
    std::stable_sort(kept.begin(), kept.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.file, a.line) < std::tie(b.file, b.line);
    });
    return kept;
  }

private:
  // "key = 1 # note" is one mistake: the comment is part of the value, which the kernel then
  // refuses. A value problem on a line whose trailing comment is already reported makes that
  // finding an error that says the consequence, instead of a second finding.
  bool fold_into_trailing_comment(const Problem& p)
  {
    if (p.id != "bad-value" && p.id != "out-of-range" && p.id != "policy-range") {
      return false;
    }
    for (auto& item : m_items) {
      // By file and line: a glob line's value problems name each key it matches, not the glob.
      if (item.id == "trailing-comment" && item.file == p.file && item.line == p.line) {
        // Both messages start "key = value" (the value may hold ": " itself): say the rest.
        const std::string head = item.message.substr(0, item.message.find(": sysctl.d has"));
        std::string what = p.message;
        if (what.rfind(head, 0) == 0) {
          what = std::string(trim(std::string_view(what).substr(head.size())));
          if (what.rfind(": ", 0) == 0) {
            what = what.substr(2);
          }
        }
        if (item.severity != Severity::error) {
          item.severity = Severity::error;
          // "not whole numbers (the kernel range is 0..2)": the value with its comment is not one.
          const std::string range_note = " (the ";
          if (const auto at = what.find(range_note); p.id == "bad-value" && at != std::string::npos) {
            what = "the key takes a whole number; " + what.substr(at + 2, what.size() - at - 3);
          }
          item.message += ". As written, the kernel refuses the value: " + what;
        }
        return true;
      }
    }
    return false;
  }

  // One mistake, one finding: where a line gets both a general problem and the specific one that
  // says more (the kernel's own range, the timestamps rule, the inverted range), only the specific
  // one is kept. True when p is the general one of such a pair (dropped); a general one already
  // kept is dropped when its specific one comes.
  bool supersede(const Problem& p)
  {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> k_general_specific{ {
      { "policy-range", "out-of-range" },
      { "policy-range", "timestamps-off" },
      { "bad-value", "port-range-inverted" },
    } };
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      const Problem& q = m_items[i];
      if (m_dropped.count(i) != 0 || q.file != p.file || q.line != p.line || q.key != p.key) {
        continue;
      }
      for (const auto& [general, specific] : k_general_specific) {
        if (p.id == general && q.id == specific) {
          return true;
        }
        if (p.id == specific && q.id == general) {
          m_dropped.insert(i);
        }
      }
    }
    return false;
  }

  std::set<std::size_t> m_dropped;
  std::map<std::tuple<std::string, std::string, unsigned, std::string, std::string>, std::size_t> m_index;
  std::vector<Problem> m_items;
  std::vector<std::set<std::string>> m_loaders;
};

const KeyRange* find_range(const std::vector<KeyRange>& ranges, const std::string& key)
{
  for (const auto& r : ranges) {
    if (r.key == key) {
      return &r;
    }
  }
  return nullptr;
}

// Value checks of one assignment against the kernel's (and the policy's) ranges.
void check_value(const Entry& e, const std::string& key, const CheckOptions& options, Collector& out)
{
  const auto& value = *e.value;
  std::vector<KeyRange> ranges;
  if (const auto* r = find_range(kernel_ranges(), key)) {
    ranges.push_back(*r);
  }
  if (const auto* r = find_range(options.extra_ranges, key)) {
    ranges.push_back(*r);
  }
  for (const auto& r : ranges) {
    // Every number of the value (ip_local_port_range has two) must lie in the range.
    const auto fields = split_ws(value);
    const auto span = std::to_string(r.min) + ".." + std::to_string(r.max);
    bool numbers = !fields.empty();
    bool inside = true;
    for (const auto field : fields) {
      const auto v = parse_int(field);
      numbers = numbers && v.has_value();
      inside = inside && v && *v >= r.min && *v <= r.max;
    }
    if (!numbers) {
      out.add({ "bad-value",
                Severity::error,
                e.file,
                e.line,
                key,
                std::string(key)
                  .append(" = ")
                  .append(value)
                  .append(fields.size() > 1 ? ": not whole numbers (the " : ": not a whole number (the ")
                  .append(r.source)
                  .append(" range is ")
                  .append(span)
                  .append(")") });
      return;
    }
    if (!inside) {
      out.add({ r.source == "kernel" ? "out-of-range" : "policy-range",
                Severity::error,
                e.file,
                e.line,
                key,
                std::string(key)
                  .append(" = ")
                  .append(value)
                  .append(" is outside the ")
                  .append(r.source)
                  .append(" range ")
                  .append(span) });
    }
  }
  if (key == k_port_range) {
    const auto range = parse_port_range(value);
    if (!range) {
      out.add({ "bad-value",
                Severity::error,
                e.file,
                e.line,
                key,
                key + " = " + value + ": expected two port numbers 1..65535, `low high`" });
    } else if (range->low > range->high) {
      out.add({ "bad-value",
                Severity::error,
                e.file,
                e.line,
                key,
                key + " = " + value + ": " + kernel_value_problem(key, value).value_or("inverted") +
                  "; the kernel refuses it (EINVAL)" });
    }
  }
  if (key == k_reserved_ports && !parse_port_list(value)) {
    out.add({ "bad-value",
              Severity::error,
              e.file,
              e.line,
              key,
              key + " = " + value + ": expected ports and ranges like `8080,9000-9010`" });
  }
}

// Per-line checks of a proposed file: syntax, keys this kernel lacks, values out of range.
void check_lines(const ParsedFile& parsed,
                 const KernelView& kernel,
                 const CheckOptions& options,
                 Collector& out)
{
  for (const auto& p : parsed.problems) {
    out.add(p);
  }
  for (const auto& e : parsed.entries) {
    if (e.key == k_tw_recycle) {
      out.add({ "tw-recycle",
                Severity::error,
                e.file,
                e.line,
                e.key,
                "net.ipv4.tcp_tw_recycle was removed in Linux 4.12: it broke clients behind NAT (a per-peer "
                "timestamp cache dropped their SYNs), and a line setting it fails at boot on every current "
                "kernel. Delete it; to let connect() reuse TIME_WAIT ports use net.ipv4.tcp_tw_reuse with "
                "net.ipv4.tcp_timestamps on (run `tw-advisor plan` first)" });
      continue;
    }
    if (e.glob) {
      const auto matches = kernel.expand ? kernel.expand(e.key) : std::vector<std::string>{};
      if (matches.empty()) {
        out.add({ "glob-matches-nothing",
                  Severity::warning,
                  e.file,
                  e.line,
                  e.key,
                  e.key + " matches no key of this kernel now" });
      }
      if (e.value) {
        for (const auto& m : matches) {
          if (find_range(kernel_ranges(), m) != nullptr || find_range(options.extra_ranges, m) != nullptr) {
            check_value(e, m, options, out);
          }
        }
      }
      continue;
    }
    const auto current = kernel.read ? kernel.read(e.key) : SysctlValue{};
    if (current.status == ReadStatus::absent) {
      if (names_interface(e.key)) {
        out.add({ "unknown-interface",
                  Severity::warning,
                  e.file,
                  e.line,
                  e.key,
                  e.key + ": no such interface now; the key exists only while the interface does" });
      } else if (e.ignore_failure || e.is_exclusion()) {
        out.add({ "unknown-key",
                  Severity::warning,
                  e.file,
                  e.line,
                  e.key,
                  e.key + ": this kernel has no such key (the '-' prefix makes the loader skip it)" });
      } else {
        out.add({ "unknown-key",
                  Severity::error,
                  e.file,
                  e.line,
                  e.key,
                  e.key + ": this kernel has no such key; the line fails at boot" });
      }
      continue;
    }
    if (e.value) {
      check_value(e, e.key, options, out);
      if (e.key == k_timestamps && parse_int(trim(*e.value)) == 0) {
        out.add({ "timestamps-off",
                  Severity::error,
                  e.file,
                  e.line,
                  e.key,
                  "net.ipv4.tcp_timestamps = 0 turns TCP timestamps off: it disables PAWS and RTT "
                  "measurement, and makes tcp_tw_reuse a no-op (a TIME_WAIT socket without timestamps is "
                  "never reused). Leave it at 1" });
      }
    }
  }
}

Merged merged_value(const BootResolution& res, const std::string& key, const KernelView& kernel)
{
  Merged m;
  const auto o = res.outcome(key);
  if (o.winner && o.winner->value) {
    m.value = o.winner->value;
    m.entry = o.winner;
    for (const auto& f : res.files) {
      if (f.proposed && f.display == o.winner->file) {
        m.proposed = true;
      }
    }
    return m;
  }
  if (kernel.read) {
    const auto v = kernel.read(key);
    if (v.status == ReadStatus::ok) {
      m.value = v.value;
    }
  }
  return m;
}

// Where a merged finding points: the proposed line when one is involved, else the host's line.
Problem merged_problem(const char* id,
                       const std::vector<const Merged*>& parts,
                       const std::string& key,
                       std::string message)
{
  Problem p;
  p.id = id;
  p.key = key;
  p.message = std::move(message);
  const Merged* where = nullptr;
  for (const auto* m : parts) {
    if (m->proposed) {
      where = m;
      break;
    }
  }
  p.severity = where != nullptr ? Severity::error : Severity::warning;
  if (where == nullptr) {
    for (const auto* m : parts) {
      if (m->entry) {
        where = m;
        break;
      }
    }
    p.message += " (already so on this host without the proposed file)";
  }
  if (where != nullptr && where->entry) {
    p.file = where->entry->file;
    p.line = where->entry->line;
  }
  return p;
}

std::string source_of(const Merged& m)
{
  return m.entry ? "set at " + at(*m.entry) : std::string("running value; no file sets it");
}

// Unsafe results of the merged configuration under one loader.
void check_merged(const BootResolution& res,
                  const KernelView& kernel,
                  const CheckOptions& options,
                  Collector& out)
{
  const std::string loader = to_string(res.loader);
  const auto reuse = merged_value(res, k_tw_reuse, kernel);
  const auto ts = merged_value(res, k_timestamps, kernel);
  // -1: unknown or not a number.
  const std::int64_t reuse_v = reuse.value ? parse_int(trim(*reuse.value)).value_or(-1) : -1;
  const std::int64_t ts_v = ts.value ? parse_int(trim(*ts.value)).value_or(-1) : -1;
  if ((reuse_v == 1 || reuse_v == 2) && ts_v == 0 && (reuse.entry || ts.entry)) {
    out.add(merged_problem("reuse-without-timestamps",
                           { &reuse, &ts },
                           k_tw_reuse,
                           "tcp_tw_reuse = " + std::to_string(reuse_v) + " (" + source_of(reuse) +
                             ") with tcp_timestamps = 0 (" + source_of(ts) +
                             "): reuse needs timestamps, so it would do nothing"),
            loader);
  }
  if (ts_v == 0 && ts.entry && !ts.proposed) {
    out.add(merged_problem(
              "timestamps-off", { &ts }, k_timestamps, "tcp_timestamps = 0 at boot (" + source_of(ts) + ")"),
            loader);
  }

  const auto range_m = merged_value(res, k_port_range, kernel);
  const auto reserved_m = merged_value(res, k_reserved_ports, kernel);
  if (!range_m.entry && !reserved_m.entry) {
    return; // no file sets either: nothing the configuration decides
  }
  const auto range = range_m.value ? parse_port_range(*range_m.value) : std::nullopt;
  if (!range) {
    return; // malformed values are reported per line
  }
  const auto reserved = reserved_m.value ? parse_port_list(*reserved_m.value) : std::nullopt;
  if (range->high < range->low) {
    out.add(merged_problem("port-range-inverted",
                           { &range_m },
                           k_port_range,
                           "ip_local_port_range = " + normalize_space(*range_m.value) +
                             " is inverted (low > high): the kernel refuses it and keeps the old range"),
            loader);
    return;
  }
  if (range_m.entry && range->size() < k_min_port_range) {
    out.add(merged_problem("port-range-narrow",
                           { &range_m },
                           k_port_range,
                           "ip_local_port_range = " + normalize_space(*range_m.value) + " holds only " +
                             std::to_string(range->size()) + " ports: about " +
                             time_wait_rate(range->size()) +
                             " new connections/s per destination before connect() fails with EADDRNOTAVAIL"),
            loader);
  }
  if (range_m.entry && range->size() >= k_min_port_range && range->size() < options.narrow_port_range) {
    out.add({ "port-range-below-policy",
              Severity::warning,
              range_m.entry->file,
              range_m.entry->line,
              k_port_range,
              "ip_local_port_range = " + normalize_space(*range_m.value) + " holds " +
                std::to_string(range->size()) + " ports, fewer than the policy's narrow_port_range (" +
                std::to_string(options.narrow_port_range) + ")" },
            loader);
  }
  if (range_m.entry && range->low < 1024) {
    out.add({ "port-range-low",
              Severity::warning,
              range_m.entry->file,
              range_m.entry->line,
              k_port_range,
              "ip_local_port_range starts at " + std::to_string(range->low) +
                ", inside the privileged ports (below 1024) that services use" },
            loader);
  }
  if (range_m.entry && range_m.proposed && kernel.read) {
    const auto now = kernel.read(k_port_range);
    const auto now_range = now.status == ReadStatus::ok ? parse_port_range(now.value) : std::nullopt;
    if (now_range && now_range->size() > range->size()) {
      out.add({ "port-range-narrowed",
                Severity::warning,
                range_m.entry->file,
                range_m.entry->line,
                k_port_range,
                "ip_local_port_range shrinks from " + std::to_string(now_range->size()) + " to " +
                  std::to_string(range->size()) + " ports: fewer ephemeral ports means earlier exhaustion" },
              loader);
    }
  }
  const auto is_reserved = [&](std::uint32_t port) {
    return reserved && std::any_of(reserved->begin(), reserved->end(), [&](const PortRange& r) {
             return r.contains(port);
           });
  };
  if (kernel.listening) {
    std::vector<std::uint16_t> inside;
    for (const auto port : *kernel.listening) {
      if (range->contains(port) && !is_reserved(port)) {
        inside.push_back(port);
      }
    }
    if (!inside.empty()) {
      out.add(merged_problem("port-range-covers-listener",
                             { &range_m, &reserved_m },
                             k_port_range,
                             "ip_local_port_range = " + normalize_space(*range_m.value) +
                               " covers port(s) something listens on now: " + join_ports(inside, 10) +
                               ". connect() may take such a port as a source port while the service is "
                               "down, and it then cannot bind it; reserve it in ip_local_reserved_ports or "
                               "move the range"),
              loader);
    }
  }
  if (reserved) {
    std::vector<std::string> outside;
    for (const auto& r : *reserved) {
      if (r.high < range->low || r.low > range->high) {
        outside.push_back(r.low == r.high ? std::to_string(r.low)
                                          : std::to_string(r.low) + "-" + std::to_string(r.high));
      }
    }
    if (!outside.empty() && reserved_m.entry) {
      std::string list;
      for (const auto& s : outside) {
        list += (list.empty() ? "" : ",") + s;
      }
      out.add(merged_problem("reserved-outside-range",
                             { &reserved_m, &range_m },
                             k_reserved_ports,
                             "ip_local_reserved_ports " + list + " lie outside ip_local_port_range " +
                               normalize_space(*range_m.value) +
                               ": reserving them protects nothing (the range never hands them out); a stale "
                               "reservation usually means the range moved"),
              loader);
    }
  }
}

// Precedence: is each proposed line the one that wins, and what does it override?
void check_precedence(const BootResolution& res, const ProposedFile& p, Collector& out)
{
  const std::string loader = to_string(res.loader);
  const SourceFile* file = nullptr;
  for (const auto& f : res.files) {
    if (f.proposed && f.display == p.display) {
      file = &f;
    }
  }
  for (const auto& s : res.shadowed) {
    if (s.shadowed_by == p.dest.lexically_normal() && file != nullptr) {
      out.add({ "masks-file",
                Severity::warning,
                p.display,
                0,
                {},
                p.display + " (as " + p.dest.string() + ") replaces " + s.path.string() +
                  " entirely: none of that file's settings will be applied" },
              loader);
    }
  }
  if (file == nullptr) {
    for (const auto& s : res.shadowed) {
      if (s.path == p.dest.lexically_normal()) {
        out.add({ "file-masked",
                  Severity::error,
                  p.display,
                  0,
                  {},
                  p.display + " (as " + p.dest.string() + ") is never read: " + s.shadowed_by_display +
                    (s.by_mask ? " (empty, or a link to /dev/null)" : "") +
                    " has the same name in a higher-priority directory" },
                loader);
        return;
      }
    }
    const std::string where =
      res.loader == Loader::systemd
        ? "the loader reads *.conf files whose names do not start with '.' in /etc/sysctl.d, "
          "/run/sysctl.d, /usr/local/lib/sysctl.d and /usr/lib/sysctl.d (/etc/sysctl.conf only through "
          "a link such as /etc/sysctl.d/99-sysctl.conf)"
        : "the loader reads *.conf files (hidden ones too) in /etc/sysctl.d, /run/sysctl.d, "
          "/usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d, then /etc/sysctl.conf";
    out.add({ "not-loaded",
              Severity::error,
              p.display,
              0,
              {},
              p.display + " (as " + p.dest.string() + ") is not read at boot: " + where },
            loader);
    return;
  }
  // A proposed glob line never beats an explicit key, in either loader.
  for (const auto& e : file->parsed.entries) {
    if (!e.value || !e.glob) {
      continue;
    }
    std::vector<std::string> beaten;
    for (const auto& key : res.explicit_keys()) {
      if (!glob_matches(e.key, key)) {
        continue;
      }
      const auto o = res.outcome(key);
      if (o.winner && !o.winner->glob && o.winner->file != e.file &&
          !same_sysctl_value(*o.winner->value, *e.value)) {
        beaten.push_back(key + " = " + *o.winner->value + " at " + at(*o.winner));
      }
    }
    if (!beaten.empty()) {
      std::string list;
      for (std::size_t i = 0; i < beaten.size() && i < 5; ++i) {
        list += (i == 0 ? "" : "; ") + beaten[i];
      }
      if (beaten.size() > 5) {
        list += " and " + std::to_string(beaten.size() - 5) + " more";
      }
      out.add(
        { "glob-overridden",
          Severity::warning,
          e.file,
          e.line,
          e.key,
          e.key + " = " + *e.value + " does not set " + std::to_string(beaten.size()) +
            " key(s) it matches, because an explicit key line beats any glob whatever the file order: " +
            list },
        loader);
    }
  }
  std::set<std::string> seen;
  for (const auto& e : file->parsed.entries) {
    if (!e.value || e.glob || !seen.insert(e.key).second) {
      continue;
    }
    const auto o = res.outcome(e.key);
    if (o.excluded) {
      out.add({ "excluded",
                Severity::error,
                e.file,
                e.line,
                e.key,
                e.key + " is set here but a `-" + e.key + "` line removes the assignment at boot" },
              loader);
      continue;
    }
    if (!o.winner) {
      continue;
    }
    if (o.winner->file != e.file) {
      if (!same_sysctl_value(*o.winner->value, *e.value)) {
        out.add({ "overridden",
                  Severity::error,
                  e.file,
                  e.line,
                  e.key,
                  e.key + " = " + *e.value + " is overridden at boot by " + at(*o.winner) + " (" + e.key +
                    " = " + *o.winner->value + ")" },
                loader);
        continue;
      }
      // Same value: the boot result is right, but the line that applies it is another file's.
      const std::string rule =
        res.loader == Loader::systemd && !o.winner->glob
          ? at(*o.winner) + " sets the same value earlier, and systemd-sysctl keeps the first of equal "
                            "assignments (only a different value replaces an earlier one)"
          : at(*o.winner) + " sets the same value" + (o.winner->glob ? " through a glob" : "") +
              " and is applied after this line";
      out.add({ "overridden-same",
                Severity::warning,
                e.file,
                e.line,
                e.key,
                e.key + " = " + *e.value + " is not the line that sets it at boot: " + rule +
                  ". The boot value is the same; editing only this line would not change it" },
              loader);
      continue;
    }
    for (const auto& other : o.assignments) {
      if (other.file != e.file && !other.glob && other.value && !same_sysctl_value(*other.value, *e.value)) {
        out.add({ "overrides",
                  Severity::warning,
                  e.file,
                  e.line,
                  e.key,
                  e.key + " = " + *e.value + " overrides " + e.key + " = " + *other.value + " set at " +
                    at(other) },
                loader);
      }
    }
  }
}

} // namespace

std::size_t CheckReport::errors() const
{
  return static_cast<std::size_t>(std::count_if(
    findings.begin(), findings.end(), [](const Problem& p) { return p.severity == Severity::error; }));
}

std::size_t CheckReport::warnings() const
{
  return findings.size() - errors();
}

CheckReport run_check(const std::vector<ProposedFile>& proposed,
                      const KernelView& kernel,
                      const CheckOptions& options)
{
  Collector out;
  std::vector<UnreadablePath> unreadable;
  for (const auto& p : proposed) {
    check_lines(parse_sysctl_conf(p.content, p.display), kernel, options, out);
    // The file `tw-advisor apply` writes is its own: its journal holds the file's snapshot, apply
    // refuses to overwrite a file it did not generate, and rollback would put back its old bytes.
    // A file apply generated itself (`check /etc/sysctl.d/*.conf` on a host where apply ran) is not
    // another writer's.
    if (p.dest.lexically_normal() == fs::path(k_sysctld_dir) / k_generated_file_name &&
        !is_generated_file(p.content)) {
      out.add({ "generated-file",
                Severity::error,
                p.display,
                0,
                {},
                p.dest.string() +
                  " is the file tw-advisor apply generates and rollback restores: written by anything else, "
                  "the next apply refuses it and a rollback overwrites it. Put these keys in another file "
                  "(e.g. /etc/sysctl.d/60-net.conf), or change them with `tw-advisor apply`" });
    }
  }
  auto loaders = options.loaders;
  if (loaders.empty()) {
    loaders = { Loader::systemd, Loader::procps };
  }
  for (const auto loader : loaders) {
    const auto res = resolve(options.root, loader, proposed);
    for (const auto& u : res.unreadable) {
      if (std::none_of(unreadable.begin(), unreadable.end(), [&](const UnreadablePath& x) {
            return x.path == u.path;
          })) {
        unreadable.push_back(u);
      }
    }
    for (const auto& p : proposed) {
      check_precedence(res, p, out);
    }
    check_merged(res, kernel, options, out);
  }
  CheckReport report;
  report.findings = out.finish(loaders.size());
  report.unreadable = std::move(unreadable);
  return report;
}

fs::path infer_dest(const fs::path& file, const fs::path& root, bool& assumed)
{
  assumed = false;
  auto abs = fs::absolute(file).lexically_normal();
  const auto is_config_path = [](const fs::path& p) {
    if (p == "/etc/sysctl.conf") {
      return true;
    }
    for (const auto loader : { Loader::systemd, Loader::procps }) {
      for (const auto& d : config_dirs(loader)) {
        if (p.parent_path() == d) {
          return true;
        }
      }
    }
    return false;
  };
  const auto root_n = fs::absolute(root).lexically_normal();
  if (root_n == "/" && is_config_path(abs)) {
    return abs;
  }
  if (root_n != "/") {
    const auto rel = abs.lexically_relative(root_n);
    if (!rel.empty() && *rel.begin() != "..") {
      auto in_root = fs::path("/") / rel;
      if (is_config_path(in_root)) {
        return in_root;
      }
    }
  }
  // A repository laid out like the target: ".../etc/sysctl.d/60-net.conf".
  const auto s = abs.string();
  for (const auto loader : { Loader::procps }) {
    for (const auto& d : config_dirs(loader)) {
      const auto needle = d.string() + "/";
      const auto pos = s.rfind(needle);
      if (pos != std::string::npos && s.find('/', pos + needle.size()) == std::string::npos) {
        return d / abs.filename();
      }
    }
  }
  assumed = true;
  return fs::path("/etc/sysctl.d") / abs.filename();
}

} // namespace tw::sysctld
