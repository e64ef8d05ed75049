#include "report/processes_text.hpp"

#include "util/strings.hpp"
#include "util/wrap.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tw {

namespace {

// "accepted on 198.18.0.2:8080 (40)" / "198.18.0.1:8080 (20)": a process's busiest endpoint.
std::string busiest_endpoint(const ProcessConnections& p)
{
  if (p.destinations.empty()) {
    return {};
  }
  const ProcessDestination& d = p.destinations.front();
  std::string out =
    (d.inbound ? "accepted on " : "") + d.destination + " (" + std::to_string(d.connections.total()) + ")";
  if (p.destinations.size() > 1) {
    out += fmt::format(" +{}", p.destinations.size() - 1);
  }
  return out;
}

} // namespace

std::string processes_to_text(const ProcessAttribution& a, std::size_t max_rows)
{
  constexpr std::size_t k_width = 80;
  if (!a.walked) {
    return wrap_text("Processes: not named: " + a.reason, k_width, "", "  ");
  }
  std::string out =
    wrap_text(fmt::format("Processes holding outbound or CLOSE_WAIT connections: {} of {} named, "
                          "{}; {} read {} in {:.0f} ms",
                          a.sockets_found,
                          counted(a.sockets_wanted, "socket"),
                          counted(a.process_count, "process", "processes"),
                          counted(a.fds_scanned, "fd"),
                          a.reader == "bpf-iter" ? "by the kernel's task_file iterator" : "from /proc",
                          a.walk_ms),
              k_width,
              "",
              "  ");
  if (a.processes.empty()) {
    out += "  (no process holds them)\n";
  } else {
    std::size_t comm_width = 4;
    for (const auto& p : a.processes) {
      comm_width = std::max(comm_width, p.comm.size());
    }
    out += fmt::format("  {:>7} {:<{}} {:>6} {:>5} {:>6}  {}\n",
                       "pid",
                       "comm",
                       comm_width,
                       "estab",
                       "syn",
                       "close",
                       "busiest");
    const std::size_t rows = std::min(max_rows, a.processes.size());
    for (std::size_t i = 0; i < rows; ++i) {
      const auto& p = a.processes[i];
      const std::string row = fmt::format("  {:>7} {:<{}} {:>6} {:>5} {:>6}  ",
                                          p.pid,
                                          p.comm,
                                          comm_width,
                                          p.connections.established,
                                          p.connections.syn_sent,
                                          p.connections.close_wait);
      const std::string busiest = busiest_endpoint(p);
      // The endpoint beside the numbers while it fits, else under them.
      out += row.size() + busiest.size() <= k_width ? row + busiest + "\n"
                                                    : row + "\n" + std::string(11, ' ') + busiest + "\n";
    }
    if (a.process_count > rows) {
      out += "  ... " + counted(a.process_count - rows, "more process", "more processes") + "\n";
    }
  }
  if (a.processes_unreadable > 0) {
    out += wrap_text(counted(a.processes_unreadable, "process", "processes") +
                       " could not be read: run as root (with CAP_SYS_PTRACE in a container) to name "
                       "every owner",
                     k_width,
                     "  ",
                     "    ");
  }
  if (a.processes_vanished > 0) {
    out += "  " + counted(a.processes_vanished, "process", "processes") + " exited during the walk\n";
  }
  if (a.sockets_not_asked > 0) {
    out += "  " + counted(a.sockets_not_asked, "socket") + " beyond the table's cap were not looked for\n";
  }
  return out;
}

} // namespace tw
