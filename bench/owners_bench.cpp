// tw-owners-bench: what naming socket owners costs (issue 15). Run as root inside a network
// namespace of its own (bench/owners makes one):
//
//   tw-owners-bench [--processes 2000] [--fds 100] [--rounds 7]
//
// Forks --processes children; each opens --fds descriptors in all: one TCP connection to a
// loopback listener of this process (closed at once on this side, so the child's end sits in
// CLOSE_WAIT: a socket the census wants named) and the rest /dev/null. Then, in alternating
// rounds, it takes the census of the namespace with and without owner attribution (the library's
// take_census, as plan runs it), the /proc walk alone, and `ss -tanp` (the peer that does the
// same matching) and `ss -tan`, and prints the medians as "key value" lines. Exit 0 when
// measured, 1 when the setup failed, 2 on bad arguments.
#include "facts/census.hpp"
#include "facts/processes.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t)
{
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Runs argv with stdout to /dev/null; its wall time in ms, or -1 when it failed.
double time_command(const std::vector<const char*>& argv)
{
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execvp(argv[0], const_cast<char* const*>(argv.data())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms_since(start) : -1.0;
}

long arg_number(int argc, char** argv, int& i, long lo, long hi)
{
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s needs a value\n", argv[i]);
    std::exit(2);
  }
  const long v = std::strtol(argv[++i], nullptr, 10);
  if (v < lo || v > hi) {
    std::fprintf(stderr, "%s: out of range %ld..%ld\n", argv[i - 1], lo, hi);
    std::exit(2);
  }
  return v;
}

} // namespace

int main(int argc, char** argv)
{
  long processes = 2000;
  long fds = 100;
  long rounds = 7;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--processes") {
      processes = arg_number(argc, argv, i, 1, 100000);
    } else if (a == "--fds") {
      fds = arg_number(argc, argv, i, 1, 100000);
    } else if (a == "--rounds") {
      rounds = arg_number(argc, argv, i, 1, 1000);
    } else {
      std::fprintf(stderr, "usage: tw-owners-bench [--processes N] [--fds N] [--rounds N]\n");
      return 2;
    }
  }
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||               // NOLINT
      listen(lfd, 4096) != 0 || getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) { // NOLINT
    std::perror("listener");
    return 1;
  }
  std::vector<pid_t> children;
  const pid_t parent = getpid();
  for (long p = 0; p < processes; ++p) {
    int ready[2];
    if (pipe(ready) != 0) {
      std::perror("pipe");
      return 1;
    }
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) {
        _exit(0);
      }
      close(ready[0]);
      const int s = socket(AF_INET, SOCK_STREAM, 0);
      if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) { // NOLINT
        _exit(1);
      }
      for (long f = 4; f < fds; ++f) {
        if (open("/dev/null", O_RDONLY) < 0) {
          _exit(1);
        }
      }
      const char ok = 1;
      (void)!write(ready[1], &ok, 1);
      close(ready[1]);
      pause();
      _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    const bool started = read(ready[0], &ok, 1) == 1;
    close(ready[0]);
    children.push_back(pid);
    const int c = accept(lfd, nullptr, nullptr);
    if (!started || c < 0) {
      std::fprintf(stderr, "child %ld did not start\n", p);
      return 1;
    }
    close(c); // the child's end goes to CLOSE_WAIT: a socket whose owner the census names
  }
  usleep(200000);

  tw::CensusOptions with = tw::live_census_options();
  with.attribute_owners = true;
  tw::CensusOptions without = tw::live_census_options();
  std::vector<double> t_with;
  std::vector<double> t_with_proc;
  std::vector<double> t_without;
  std::vector<double> t_walk;
  std::vector<double> t_walk_proc;
  std::vector<double> t_ss_p;
  std::vector<double> t_ss;
  tw::ProcessAttribution last;
  tw::ProcessAttribution last_proc;
  for (long r = 0; r < rounds; ++r) {
    unsetenv("TW_ADVISOR_OWNER_READER"); // the kernel's task_file iterator, as the tool runs
    auto t = Clock::now();
    const tw::SocketCensus a = tw::take_census(with);
    t_with.push_back(ms_since(t));
    last = a.processes;
    t_walk.push_back(a.processes.walk_ms);
    setenv("TW_ADVISOR_OWNER_READER", "proc-walk", 1); // its fallback, as ss -p reads
    t = Clock::now();
    const tw::SocketCensus p = tw::take_census(with);
    t_with_proc.push_back(ms_since(t));
    last_proc = p.processes;
    t_walk_proc.push_back(p.processes.walk_ms);
    unsetenv("TW_ADVISOR_OWNER_READER");
    t = Clock::now();
    const tw::SocketCensus b = tw::take_census(without);
    t_without.push_back(ms_since(t));
    t_ss_p.push_back(time_command({ "ss", "-tanp", nullptr }));
    t_ss.push_back(time_command({ "ss", "-tan", nullptr }));
  }
  for (const pid_t c : children) {
    kill(c, SIGKILL);
  }
  for (const pid_t c : children) {
    waitpid(c, nullptr, 0);
  }
  std::printf("processes %ld\nfds_per_process %ld\nrounds %ld\n", processes, fds, rounds);
  for (const tw::ProcessAttribution* a : { &last, &last_proc }) {
    std::printf("%s: reader %s%s%s, processes_scanned %llu, fds_scanned %llu, sockets_wanted %llu, "
                "sockets_found %llu, process_count %llu\n",
                a == &last ? "iterator" : "proc_walk",
                a->reader.c_str(),
                a->reader_note.empty() ? "" : ", note: ",
                a->reader_note.c_str(),
                static_cast<unsigned long long>(a->processes_scanned),
                static_cast<unsigned long long>(a->fds_scanned),
                static_cast<unsigned long long>(a->sockets_wanted),
                static_cast<unsigned long long>(a->sockets_found),
                static_cast<unsigned long long>(a->process_count));
  }
  const double with_ms = median(t_with);
  const double with_proc_ms = median(t_with_proc);
  const double without_ms = median(t_without);
  const double ss_p_ms = median(t_ss_p);
  std::printf("census_without_owners_ms %.1f\n", without_ms);
  std::printf("census_with_owners_ms %.1f (iterator)\nowners_added_ms %.1f (iterator; target <= 150)\n",
              with_ms,
              with_ms - without_ms);
  std::printf("census_with_owners_proc_walk_ms %.1f\nowners_added_proc_walk_ms %.1f\n",
              with_proc_ms,
              with_proc_ms - without_ms);
  std::printf("attribution_ms %.1f (iterator, load included)\nattribution_proc_walk_ms %.1f\n",
              median(t_walk),
              median(t_walk_proc));
  std::printf("ss_tanp_ms %.1f\nss_tan_ms %.1f\n", ss_p_ms, median(t_ss));
  std::printf("census_with_owners_vs_ss_tanp %.2f\ncensus_with_owners_proc_walk_vs_ss_tanp %.2f\n",
              ss_p_ms > 0 ? with_ms / ss_p_ms : 0.0,
              ss_p_ms > 0 ? with_proc_ms / ss_p_ms : 0.0);
  return 0;
}
