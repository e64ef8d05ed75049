#include "support/process.hpp"

#include "support/schema.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tw::test {

std::string join_argv(const std::vector<std::string>& argv)
{
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    out += a;
  }
  return out;
}

std::string required_env(const char* name)
{
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string("environment variable ") + name +
                             " is not set: run the tests through ctest");
  }
  return value;
}

RunResult run(const std::vector<std::string>& argv,
              const std::vector<std::string>& extra_env,
              const std::string& stdin_data,
              std::chrono::milliseconds timeout)
{
  RunResult result;
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    env_strings.emplace_back(*e);
  }
  for (const auto& e : extra_env) {
    env_strings.push_back(e);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> cargv;
  for (auto& a : argv_copy) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execvpe(cargv[0], cargv.data(), envp.data());
    const std::string msg = std::string("exec ") + cargv[0] + ": " + std::strerror(errno) + "\n";
    (void)!write(2, msg.data(), msg.size());
    _exit(127);
  }
  setpgid(pid, pid);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);

  // Feed stdin in full (tests pass small inputs), then close it so the child sees EOF.
  std::size_t written = 0;
  while (written < stdin_data.size()) {
    const ssize_t n = write(in_pipe[1], stdin_data.data() + written, stdin_data.size() - written);
    if (n <= 0) {
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  close(in_pipe[1]);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    const int rc = poll(fds, 2, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
        }
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) {
      close(f.fd);
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  // doc/json.md: tw-advisor asked for JSON prints exactly one document valid against its schema,
  // on success and on error; every test that runs it checks that, whatever else it asserts.
  if (!result.timed_out && result.exit_code < 128 && asks_tw_advisor_for_json(argv)) {
    if (const std::string problem = schema_problem(result.out); !problem.empty()) {
      ADD_FAILURE() << "the JSON printed by " << join_argv(argv) << " breaks its schema: " << problem
                    << "\nstdout (first 2000 bytes): " << result.out.substr(0, 2000);
    }
  }
  return result;
}

RunResult run_ok(const std::vector<std::string>& argv,
                 const std::vector<std::string>& extra_env,
                 std::chrono::milliseconds timeout)
{
  auto result = run(argv, extra_env, {}, timeout);
  if (result.exit_code != 0 || result.timed_out) {
    ADD_FAILURE() << "command failed (exit " << result.exit_code << (result.timed_out ? ", timed out" : "")
                  << "): " << join_argv(argv) << "\nstderr: " << result.err << "\nstdout: " << result.out;
  }
  return result;
}

} // namespace tw::test
