#include "facts/counters.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <thread>
#include <vector>

namespace tw {
namespace {

void add_finding(Counters& counters, const std::string& finding)
{
  if (!counters.error.empty()) {
    counters.error += "; ";
  }
  counters.error += finding;
}

std::string where(std::string_view file_name, std::size_t line_no)
{
  return std::string(file_name) + ":" + std::to_string(line_no);
}

std::string lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Lines of content with their 1-based numbers; a final line without '\n' counts too.
std::vector<std::pair<std::size_t, std::string_view>> numbered_lines(std::string_view content)
{
  std::vector<std::pair<std::size_t, std::string_view>> lines;
  std::size_t line_no = 0;
  for (const std::string_view line : split(content, '\n')) {
    ++line_no;
    lines.emplace_back(line_no, line);
  }
  if (!lines.empty() && trim(lines.back().second).empty()) {
    lines.pop_back();
  }
  return lines;
}

} // namespace

Counters parse_netstat(std::string_view content, std::string_view file_name)
{
  Counters counters;
  const auto lines = numbered_lines(content);
  std::size_t i = 0;
  while (i < lines.size()) {
    const auto [header_no, header] = lines[i];
    if (trim(header).empty()) {
      ++i;
      continue;
    }
    const auto header_fields = split_ws(header);
    const std::string_view prefix = header_fields.front();
    if (prefix.size() < 2 || prefix.back() != ':') {
      add_finding(counters,
                  where(file_name, header_no) + ": expected a \"Prefix:\" header line, got \"" +
                    printable(header.substr(0, 60)) + "\"");
      ++i;
      continue;
    }
    if (i + 1 >= lines.size()) {
      add_finding(counters,
                  where(file_name, header_no) + ": header \"" + printable(prefix) +
                    "\" has no value line after it");
      break;
    }
    const auto [value_no, value_line] = lines[i + 1];
    const auto value_fields = split_ws(value_line);
    if (value_fields.empty() || value_fields.front() != prefix) {
      add_finding(counters,
                  where(file_name, value_no) + ": expected the value line of \"" + printable(prefix) +
                    "\", got \"" + printable(value_line.substr(0, 60)) + "\"");
      ++i; // resynchronise on the next line
      continue;
    }
    if (value_fields.size() != header_fields.size()) {
      add_finding(counters,
                  where(file_name, value_no) + ": \"" + printable(prefix) + "\" has " +
                    std::to_string(header_fields.size() - 1) + " names but " +
                    std::to_string(value_fields.size() - 1) + " values; line ignored");
      i += 2;
      continue;
    }
    const std::string name_prefix(prefix.substr(0, prefix.size() - 1));
    for (std::size_t f = 1; f < header_fields.size(); ++f) {
      const std::string key = name_prefix + "." + std::string(header_fields[f]);
      if (const auto u = parse_uint(value_fields[f])) {
        counters.values[key] = *u;
      } else if (parse_int(value_fields[f])) {
        // A signed limit such as Tcp MaxConn = -1 ("no limit"): not a counter, left out.
      } else {
        add_finding(counters,
                    where(file_name, value_no) + ": " + key + " has a non-numeric value \"" +
                      printable(value_fields[f].substr(0, 30)) + "\"");
      }
    }
    i += 2;
  }
  counters.available = !counters.values.empty();
  if (!counters.available && counters.error.empty()) {
    counters.error = std::string(file_name) + ": no counters found";
  }
  return counters;
}

Counters parse_sockstat(std::string_view content, std::string_view key_prefix, std::string_view file_name)
{
  Counters counters;
  for (const auto& [line_no, line] : numbered_lines(content)) {
    if (trim(line).empty()) {
      continue;
    }
    const auto fields = split_ws(line);
    const std::string_view proto = fields.front();
    if (proto.size() < 2 || proto.back() != ':' || fields.size() % 2 != 1) {
      add_finding(counters,
                  where(file_name, line_no) + ": expected \"PROTO: name value ...\", got \"" +
                    printable(line.substr(0, 60)) + "\"");
      continue;
    }
    const std::string proto_name = lower(proto.substr(0, proto.size() - 1));
    for (std::size_t f = 1; f + 1 < fields.size(); f += 2) {
      const std::string key = std::string(key_prefix) + "." + proto_name + "_" + std::string(fields[f]);
      const auto value = parse_uint(fields[f + 1]);
      if (!value) {
        add_finding(counters,
                    where(file_name, line_no) + ": " + key + " has a non-numeric value \"" +
                      printable(fields[f + 1].substr(0, 30)) + "\"");
        continue;
      }
      counters.values[key] = *value;
      if (proto_name == "tcp" && fields[f] == "tw") {
        counters.values[std::string(key_prefix) + ".tw"] = *value;
      }
    }
  }
  counters.available = !counters.values.empty();
  if (!counters.available && counters.error.empty()) {
    counters.error = std::string(file_name) + ": no counters found";
  }
  return counters;
}

Counters read_counters(const std::filesystem::path& proc_root)
{
  struct Source
  {
    const char* relative;
    bool is_sockstat;
    const char* key_prefix;
  };
  static const Source k_sources[] = {
    { "net/netstat", false, "" },
    { "net/snmp", false, "" },
    { "net/sockstat", true, "sockstat" },
    { "net/sockstat6", true, "sockstat6" },
  };
  Counters all;
  bool any_read = false;
  for (const Source& source : k_sources) {
    const std::filesystem::path path = proc_root / source.relative;
    const ReadResult read = read_file(path);
    if (!read) {
      // sockstat6 is missing on kernels without IPv6: that is worth a note, not more.
      add_finding(all, path.string() + ": " + errno_text(read.error()));
      continue;
    }
    any_read = true;
    const Counters parsed = source.is_sockstat ? parse_sockstat(*read, source.key_prefix, path.string())
                                               : parse_netstat(*read, path.string());
    if (!parsed.error.empty()) {
      add_finding(all, parsed.error);
    }
    for (const auto& [key, value] : parsed.values) {
      all.values[key] = value;
    }
  }
  all.available = any_read && !all.values.empty();
  return all;
}

CounterRates sample_rates(const Counters& before, const Counters& after, double seconds)
{
  CounterRates rates;
  rates.interval_seconds = seconds;
  for (const auto& [key, later] : after.values) {
    const auto earlier = before.get(key);
    if (!earlier || later < *earlier) {
      continue;
    }
    const std::uint64_t delta = later - *earlier;
    rates.delta[key] = delta;
    if (seconds > 0.0) {
      rates.per_second[key] = static_cast<double>(delta) / seconds;
    }
  }
  return rates;
}

CounterRates sample_counters(const ReadCountersFn& read,
                             double seconds,
                             const SleepFn& sleep,
                             Counters& latest)
{
  if (!(seconds > 0.0) || seconds > 86400.0) {
    throw Error("--sample " + std::to_string(seconds),
                "the sampling interval must be above 0 and at most 86400 s");
  }
  const Counters before = read();
  sleep(std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0)));
  latest = read();
  return sample_rates(before, latest, seconds);
}

void sleep_for_real(std::chrono::milliseconds duration)
{
  std::this_thread::sleep_for(duration);
}

} // namespace tw
