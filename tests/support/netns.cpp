#include "support/netns.hpp"

#include "util/strings.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <sched.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace tw::test {

namespace {

std::atomic<int> g_counter{ 0 };

// Namespaces a killed earlier run left behind: "twa-<pid>-..." whose pid no longer exists.
void sweep_stale_namespaces()
{
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("twa-", 0) != 0) {
      continue;
    }
    const auto fields = split(name, '-');
    if (fields.size() < 2) {
      continue;
    }
    const auto pid = parse_int(fields[1]);
    if (!pid || ::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH) {
      continue;
    }
    const auto pids = run({ "ip", "netns", "pids", name });
    for (const auto p : split_ws(pids.out)) {
      if (const auto v = parse_int(p)) {
        ::kill(static_cast<pid_t>(*v), SIGKILL);
      }
    }
    run({ "ip", "netns", "del", name });
  }
}

} // namespace

bool netns_usable(std::string& why)
{
  if (::geteuid() != 0) {
    why = "live tests need root to create network namespaces";
    return false;
  }
  const auto probe = run({ "ip", "-V" });
  if (probe.exit_code != 0) {
    why = "live tests need the `ip` command (iproute2): " + probe.err;
    return false;
  }
  return true;
}

Netns::Netns(const std::string& tag)
{
  sweep_stale_namespaces();
  m_name = "twa-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++) + "-" + tag;
  // The member run() would wrap these in `ip netns exec`: the namespace does not exist yet.
  const auto add = tw::test::run({ "ip", "netns", "add", m_name });
  if (add.exit_code != 0) {
    throw std::runtime_error("ip netns add " + m_name + ": " + add.err);
  }
  const auto up = tw::test::run({ "ip", "-n", m_name, "link", "set", "lo", "up" });
  if (up.exit_code != 0) {
    tw::test::run({ "ip", "netns", "del", m_name }); // no destructor runs for a failed constructor
    throw std::runtime_error("ip -n " + m_name + " link set lo up: " + up.err);
  }
}

Netns::~Netns()
{
  const auto pids = tw::test::run({ "ip", "netns", "pids", m_name });
  for (const auto p : split_ws(pids.out)) {
    if (const auto v = parse_int(p)) {
      ::kill(static_cast<pid_t>(*v), SIGKILL);
    }
  }
  tw::test::run({ "ip", "netns", "del", m_name });
}

std::vector<std::string> Netns::exec_argv(const std::vector<std::string>& argv) const
{
  std::vector<std::string> out = { "ip", "netns", "exec", m_name };
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

RunResult Netns::run(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env,
                     std::chrono::milliseconds timeout) const
{
  return tw::test::run(exec_argv(argv), extra_env, {}, timeout);
}

RunResult Netns::run_ok(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) const
{
  return tw::test::run_ok(exec_argv(argv), {}, timeout);
}

void Netns::set_sysctl(const std::string& key, const std::string& value) const
{
  if (key.rfind("net.", 0) != 0) {
    throw std::runtime_error("tests write only net.* sysctls inside their namespace, not " + key);
  }
  const auto r = run({ "sysctl", "-q", "-w", key + "=" + value });
  if (r.exit_code != 0) {
    throw std::runtime_error("sysctl -w " + key + "=" + value + " in " + m_name + ": " + r.err);
  }
}

std::string Netns::get_sysctl(const std::string& key) const
{
  const auto r = run({ "sysctl", "-n", key });
  if (r.exit_code != 0) {
    throw std::runtime_error("sysctl -n " + key + " in " + m_name + ": " + r.err);
  }
  return normalize_space(r.out);
}

std::uint64_t Netns::counter(const std::string& name) const
{
  const RunResult r = run({ "nstat", "-az", name });
  for (const auto line : split(r.out, '\n')) {
    const auto f = split_ws(line);
    if (f.size() >= 2 && f[0] == name) {
      if (const auto v = parse_uint(f[1])) {
        return *v;
      }
    }
  }
  throw std::runtime_error("no " + name + " in `nstat -az " + name + "` in " + m_name + ": " + r.out + r.err);
}

void Netns::add_address(const std::string& cidr, const std::string& dev) const
{
  const auto r = tw::test::run({ "ip", "-n", m_name, "addr", "add", cidr, "dev", dev });
  if (r.exit_code != 0) {
    throw std::runtime_error("ip -n " + m_name + " addr add " + cidr + " dev " + dev + ": " + r.err);
  }
}

EnterNetns::EnterNetns(const Netns& ns)
{
  m_home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (m_home < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    const std::string why = std::strerror(errno);
    if (target >= 0) {
      ::close(target);
    }
    if (m_home >= 0) {
      ::close(m_home);
    }
    throw std::runtime_error("entering network namespace " + ns.path() + ": " + why);
  }
  ::close(target);
}

EnterNetns::~EnterNetns()
{
  if (::setns(m_home, CLONE_NEWNET) != 0) {
    std::abort(); // a thread stuck in a test namespace would make every later reading lie
  }
  ::close(m_home);
}

HostPair::HostPair(const std::string& tag)
  : client(tag + "c")
  , server(tag + "s")
{
  // Each pair lives in its own namespaces, so subnets of different pairs never meet; the
  // counter only makes addresses in one test's messages easy to tell apart.
  static std::atomic<int> pair_counter{ 0 };
  const int third = pair_counter++ % 250 + 1;
  client_v4 = "198.18." + std::to_string(third) + ".1";
  server_v4 = "198.18." + std::to_string(third) + ".2";
  client_v6 = "fd00:198:18:" + std::to_string(third) + "::1";
  server_v6 = "fd00:198:18:" + std::to_string(third) + "::2";
  link_namespaces(client,
                  server,
                  { .a_v4 = client_v4 + "/24",
                    .b_v4 = server_v4 + "/24",
                    .a_v6 = client_v6 + "/64",
                    .b_v6 = server_v6 + "/64" });
}

void link_namespaces(const Netns& a, const Netns& b, const LinkAddresses& addrs)
{
  auto must = [](const std::vector<std::string>& argv) {
    const auto r = tw::test::run(argv);
    if (r.exit_code != 0) {
      throw std::runtime_error(join_argv(argv) + ": " + r.err);
    }
  };
  must({ "ip",
         "-n",
         a.name(),
         "link",
         "add",
         "eth0",
         "type",
         "veth",
         "peer",
         "name",
         "eth0",
         "netns",
         b.name() });
  for (const auto* ns : { &a, &b }) {
    const bool is_a = ns == &a;
    const auto& v4 = is_a ? addrs.a_v4 : addrs.b_v4;
    const auto& v6 = is_a ? addrs.a_v6 : addrs.b_v6;
    must({ "ip", "-n", ns->name(), "addr", "add", v4, "dev", "eth0" });
    if (!v6.empty()) {
      must({ "ip", "-n", ns->name(), "addr", "add", v6, "dev", "eth0", "nodad" });
    }
    must({ "ip", "-n", ns->name(), "link", "set", "eth0", "up" });
  }
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv)
{
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> copy = argv;
  std::vector<char*> cargv;
  for (auto& a : copy) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);
  m_pid = fork();
  if (m_pid < 0) {
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (m_pid == 0) {
    setpgid(0, 0);
    dup2(out_pipe[1], 1);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  setpgid(m_pid, m_pid);
  close(out_pipe[1]);
  m_out_fd = out_pipe[0];
}

BackgroundProcess::~BackgroundProcess()
{
  stop();
}

bool BackgroundProcess::wait_for_output(const std::string& marker, std::chrono::milliseconds timeout)
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (m_out.find(marker) == std::string::npos) {
    const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || m_out_fd < 0) {
      return false;
    }
    pollfd pfd{ m_out_fd, POLLIN, 0 };
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    const ssize_t n = read(m_out_fd, buf, sizeof(buf));
    if (n <= 0) {
      close(m_out_fd);
      m_out_fd = -1;
      return m_out.find(marker) != std::string::npos;
    }
    m_out.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

int BackgroundProcess::stop()
{
  if (m_stopped || m_pid <= 0) {
    return m_exit_code;
  }
  m_stopped = true;
  ::kill(-m_pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 50; ++i) {
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (m_exit_code < 0) {
    ::kill(-m_pid, SIGKILL);
    waitpid(m_pid, &status, 0);
    m_exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (m_out_fd >= 0) {
    close(m_out_fd);
    m_out_fd = -1;
  }
  return m_exit_code;
}

nlohmann::json advisor_json(const Netns& ns,
                            const std::string& advisor,
                            std::vector<std::string> args,
                            std::vector<std::string> prefix)
{
  std::vector<std::string> argv = std::move(prefix);
  argv.push_back(advisor);
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), { "--format", "json" });
  const RunResult r = ns.run(argv, {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << join_argv(argv) << "\n" << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << join_argv(argv) << " printed no JSON: " << e.what() << "\n" << r.out << r.err;
    return nlohmann::json::object();
  }
}

} // namespace tw::test
