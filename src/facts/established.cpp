// Outbound ESTABLISHED connections per destination through a --sample window: the count that
// shows a program opening connections and never closing them (established-growing).
#include "facts/established.hpp"

#include "facts/sock_diag.hpp"
#include "model/census.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <sys/socket.h>
#include <unordered_set>

namespace tw {

namespace {

double slope(const std::vector<double>& x, const std::vector<std::uint64_t>& y)
{
  const auto n = static_cast<double>(x.size());
  double sx = 0.0;
  double sy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += static_cast<double>(y[i]);
  }
  double sxy = 0.0;
  double sxx = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - sx / n;
    sxy += dx * (static_cast<double>(y[i]) - sy / n);
    sxx += dx * dx;
  }
  return sxx > 0.0 ? sxy / sxx : 0.0;
}

} // namespace

EstablishedCount count_established()
{
  EstablishedCount out;
  SockDiag diag;
  if (!diag.ok()) {
    out.error = diag.step() + ": " + errno_text(diag.error());
    return out;
  }
  std::unordered_set<std::uint16_t> listening;
  const auto failed = [&out](const DumpResult& r) {
    out.error = r.step + ": " + errno_text(r.error);
    out.by_destination.clear();
    return out;
  };
  for (const int family : { AF_INET, AF_INET6 }) {
    const DumpResult r = diag.dump_tcp(
      family, state_bit(static_cast<unsigned>(TcpState::listen)), false, [&listening](const SockRecord& rec) {
        listening.insert(rec.local_port);
      });
    if (!r.ok) {
      return failed(r);
    }
  }
  for (const int family : { AF_INET, AF_INET6 }) {
    const DumpResult r = diag.dump_tcp(
      family, state_bit(static_cast<unsigned>(TcpState::established)), false, [&](const SockRecord& rec) {
        if (listening.count(rec.local_port) != 0) {
          return; // accepted on a listening port: inbound
        }
        SocketWants::Endpoint e;
        e.address = rec.remote;
        e.port = rec.remote_port;
        e.family = rec.family;
        ++out.by_destination[e];
      });
    if (!r.ok) {
      return failed(r);
    }
  }
  out.ok = true;
  return out;
}

EstablishedTrend established_trend(const std::vector<double>& at_seconds,
                                   const std::vector<EstablishedCount>& counts)
{
  EstablishedTrend trend;
  for (const EstablishedCount& c : counts) {
    if (!c.ok) {
      trend.error = c.error;
      return trend;
    }
  }
  if (counts.size() < 2 || counts.size() != at_seconds.size()) {
    trend.error = "fewer than two counts in the window";
    return trend;
  }
  trend.measured = true;
  trend.at_seconds = at_seconds;
  std::unordered_set<SocketWants::Endpoint, SocketWants::EndpointHash> seen;
  for (const EstablishedCount& c : counts) {
    for (const auto& [e, n] : c.by_destination) {
      seen.insert(e);
    }
  }
  trend.destinations_counted = seen.size();
  std::vector<std::pair<std::uint64_t, DestinationTrend>> gained; // by how many it gained
  for (const SocketWants::Endpoint& e : seen) {
    std::vector<std::uint64_t> series;
    series.reserve(counts.size());
    for (const EstablishedCount& c : counts) {
      const auto it = c.by_destination.find(e);
      series.push_back(it == c.by_destination.end() ? 0 : it->second);
    }
    if (series.back() <= series.front()) {
      continue;
    }
    const std::uint64_t gain = series.back() - series.front();
    const double s = slope(at_seconds, series);
    gained.emplace_back(gain, DestinationTrend{ SocketWants::text(e), std::move(series), s });
  }
  std::sort(gained.begin(), gained.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second.destination < b.second.destination;
  });
  for (auto& [gain, d] : gained) {
    if (trend.destinations.size() == EstablishedTrend::k_max_destinations) {
      break;
    }
    trend.destinations.push_back(std::move(d));
  }
  return trend;
}

EstablishedTrend watch_established(std::chrono::milliseconds total,
                                   const SleepFn& sleep,
                                   const CountEstablishedFn& count)
{
  using namespace std::chrono;
  using Rep = milliseconds::rep;
  const Rep steps = std::clamp<Rep>(total.count() / 500, 1, 10);
  const milliseconds step(total.count() / steps);
  milliseconds spent(0); // into the window: what was slept and what the counts took
  const auto timed_count = [&count, &spent] {
    const auto start = steady_clock::now();
    EstablishedCount c = count();
    spent += duration_cast<milliseconds>(steady_clock::now() - start);
    return c;
  };
  std::vector<double> at{ 0.0 };
  std::vector<EstablishedCount> counts{ timed_count() };
  for (Rep k = 1; k <= steps; ++k) {
    const milliseconds target = k == steps ? total : step * k;
    const milliseconds nap = std::max(milliseconds(0), target - spent);
    sleep(nap);
    spent += nap;
    at.push_back(duration<double>(target).count());
    counts.push_back(timed_count());
  }
  return established_trend(at, counts);
}

} // namespace tw
