#include "support/schema.hpp"

#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace tw::test {

namespace {

// The running validator: its stdin and stdout.
class Validator
{
public:
  Validator()
  {
    const std::string script = required_env("TW_SCHEMA_VALIDATOR");
    const std::string dir = required_env("TW_SCHEMA_DIR");
    int to[2];
    int from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::dup2(to[0], 0);
      ::dup2(from[1], 1);
      ::execlp("python3", "python3", script.c_str(), dir.c_str(), "--serve", static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    m_in = to[1];
    m_out = from[0];
    std::signal(SIGPIPE, SIG_IGN); // a validator that died is reported, not a SIGPIPE
  }
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  std::string check(const std::string& text)
  {
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return std::string("stdout is not one JSON document: ") + e.what();
    }
    const std::string line = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(m_in, line.data() + done, line.size() - done);
      if (n <= 0) {
        throw std::runtime_error("the schema validator (" + required_env("TW_SCHEMA_VALIDATOR") +
                                 ") is gone: " + std::strerror(errno));
      }
      done += static_cast<std::size_t>(n);
    }
    std::string answer;
    char c = 0;
    while (true) {
      const ssize_t n = ::read(m_out, &c, 1);
      if (n <= 0) {
        throw std::runtime_error(
          "the schema validator (" + required_env("TW_SCHEMA_VALIDATOR") +
          ") ended without an answer (is python3-jsonschema installed? scripts/setup)");
      }
      if (c == '\n') {
        break;
      }
      answer += c;
    }
    return answer == "ok" ? std::string() : answer;
  }

private:
  int m_in = -1;
  int m_out = -1;
};

} // namespace

std::string schema_problem(const std::string& text)
{
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  static Validator validator;
  return validator.check(text);
}

bool asks_tw_advisor_for_json(const std::vector<std::string>& argv)
{
  const char* bin = std::getenv("TW_ADVISOR_BIN");
  if (bin == nullptr) {
    return false;
  }
  bool tool = false;
  bool json = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    tool = tool || a == bin;
    if (a == "--help" || a == "-h" || a == "--version") {
      return false;
    }
    json = json || a == "--format=json" || (a == "--format" && i + 1 < argv.size() && argv[i + 1] == "json");
  }
  return tool && json;
}

} // namespace tw::test
