// Outbound ESTABLISHED connections per destination through a --sample window: the count that
// shows a program opening connections and never closing them (established-growing).
#include "facts/established.hpp"

#include "facts/sock_diag.hpp"
#include "model/census.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cerrno>
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
  // A kernel without IPv6 answers its dumps with EAFNOSUPPORT, ENOENT or EOPNOTSUPP: IPv4 alone.
  const auto no_v6 = [](int family, const DumpResult& r) {
    return family == AF_INET6 && (r.error == EAFNOSUPPORT || r.error == ENOENT || r.error == EOPNOTSUPP);
  };
  for (const int family : { AF_INET, AF_INET6 }) {
    const DumpResult r = diag.dump_tcp(
      family, state_bit(static_cast<unsigned>(TcpState::listen)), false, [&listening](const SockRecord& rec) {
        listening.insert(rec.local_port);
      });
    if (!r.ok && !no_v6(family, r)) {
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
    if (!r.ok && !no_v6(family, r)) {
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
  struct Gained
  {
    bool never_fell = false;
    std::uint64_t gain = 0;
    DestinationTrend trend;
  };
  std::vector<Gained> gained;
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
    const bool never_fell = std::is_sorted(series.begin(), series.end());
    const std::uint64_t gain = series.back() - series.front();
    const double s = slope(at_seconds, series);
    gained.push_back({ never_fell, gain, DestinationTrend{ SocketWants::text(e), std::move(series), s } });
  }
  // Those that never fell first (a leak only rises: busy pools that rose and fell must not push
  // it out of the kept ones), then by how many they gained.
  std::sort(gained.begin(), gained.end(), [](const Gained& a, const Gained& b) {
    if (a.never_fell != b.never_fell) {
      return a.never_fell;
    }
    return a.gain != b.gain ? a.gain > b.gain : a.trend.destination < b.trend.destination;
  });
  for (Gained& g : gained) {
    if (trend.destinations.size() == EstablishedTrend::k_max_destinations) {
      break;
    }
    trend.destinations.push_back(std::move(g.trend));
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
    at.push_back(duration<double>(spent).count()); // later than target when counts ran long
    counts.push_back(timed_count());
  }
  return established_trend(at, counts);
}

} // namespace tw
