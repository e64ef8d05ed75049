// tw-runstat: runs one command and reports its wall time, CPU time and peak RSS, measured
// around the command alone (fork, exec, wait4), so the harness's own cost never counts.
//
//   tw-runstat [--stdout FILE] [--stderr FILE] [--timeout SECONDS] -- COMMAND [ARGS...]
//       The command's stdout goes to FILE (default /dev/null, as an operator's `> /dev/null`),
//       its stderr to FILE (default: inherited). After --timeout (default 300) it is killed.
//       Prints one line:
//         wall_us=N user_us=N sys_us=N maxrss_kb=N status=N
//       where status is the exit code, or 128+signal when it was killed. Exits 0 when the
//       measurement was taken (whatever the command's status), 1 when it could not be.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

long long micros(const timeval& tv)
{
  return static_cast<long long>(tv.tv_sec) * 1000000LL + tv.tv_usec;
}

int open_or_die(const std::string& path)
{
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "tw-runstat: open %s: %s\n", path.c_str(), std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

} // namespace

int main(int argc, char** argv)
{
  std::string out = "/dev/null";
  std::string err;
  long timeout = 300;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc) {
      break;
    }
    if (f == "--stdout") {
      out = argv[++i];
    } else if (f == "--stderr") {
      err = argv[++i];
    } else if (f == "--timeout") {
      timeout = std::strtol(argv[++i], nullptr, 10);
    } else {
      break;
    }
  }
  if (i >= argc || timeout <= 0) {
    std::fprintf(stderr,
                 "usage: tw-runstat [--stdout FILE] [--stderr FILE] [--timeout SECONDS] -- COMMAND...\n");
    return 1;
  }
  std::vector<char*> cmd(argv + i, argv + argc);
  cmd.push_back(nullptr);
  const int out_fd = open_or_die(out);
  const int err_fd = err.empty() ? -1 : open_or_die(err);

  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "tw-runstat: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) {
      dup2(err_fd, STDERR_FILENO);
    }
    execvp(cmd[0], cmd.data());
    std::fprintf(stderr, "tw-runstat: exec %s: %s\n", cmd[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  // A blocking wait4 keeps the runner off the CPU; SIGALRM (no SA_RESTART) breaks it at the timeout.
  struct sigaction sa
  {};
  sa.sa_handler = [](int) {};
  sigaction(SIGALRM, &sa, nullptr);
  alarm(static_cast<unsigned>(timeout));
  pid_t got = -1;
  for (int tries = 0; tries < 3; ++tries) {
    got = wait4(pid, &status, 0, &ru);
    if (got >= 0 || errno != EINTR) {
      break;
    }
    kill(pid, SIGKILL);
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (got < 0) {
    std::fprintf(stderr, "tw-runstat: wait4: %s\n", std::strerror(errno));
    return 1;
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::printf("wall_us=%lld user_us=%lld sys_us=%lld maxrss_kb=%ld status=%d\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()),
              micros(ru.ru_utime),
              micros(ru.ru_stime),
              ru.ru_maxrss,
              code);
  return 0;
}
