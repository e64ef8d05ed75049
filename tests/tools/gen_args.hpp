// Command-line reading shared by the two traffic generators: tests/tools/loadgen.cpp (live
// tests) and bench/twgen.cpp (benchmark). bench/run builds twgen with plain g++ and no -I, so
// this header needs only the standard library and twgen includes it by its relative path.
// Both take "<tool> MODE [--flag [VALUE]]...", and a bad argument prints
// "<tool>: <why>" and the tool's usage text to stderr, then exits 2.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>

namespace tw::tools {

// What a tool says about itself when an argument is wrong.
struct Usage
{
  const char* program; // "tw-loadgen"
  const char* text;    // the "usage: ..." lines, each ending in a newline
};

// Prints "<program>: <why>" and the usage text to stderr and exits 2 (bad arguments).
[[noreturn]] inline void usage_exit(const Usage& usage, const std::string& why)
{
  std::fprintf(stderr, "%s: %s\n%s", usage.program, why.c_str(), usage.text);
  std::exit(2);
}

// Reads "<tool> MODE --flag [VALUE]..." one flag at a time; every misuse ends in usage_exit.
class ArgReader
{
public:
  // Checks argv[1] against modes ("missing mode (a or b)", "unknown mode: x").
  ArgReader(int argc, char** argv, const Usage& usage, std::initializer_list<const char*> modes)
    : m_argc(argc)
    , m_argv(argv)
    , m_usage(usage)
  {
    std::string names;
    for (const char* m : modes) {
      names += (names.empty() ? "" : " or ") + std::string(m);
    }
    if (argc < 2) {
      fail("missing mode (" + names + ")");
    }
    m_mode = argv[1];
    bool known = false;
    for (const char* m : modes) {
      known = known || m_mode == m;
    }
    if (!known) {
      fail("unknown mode: " + m_mode);
    }
  }

  // The mode the tool was started in (argv[1]).
  const std::string& mode() const { return m_mode; }

  // Moves to the next flag; false when none is left.
  bool next()
  {
    if (m_next >= m_argc) {
      return false;
    }
    m_flag = m_argv[m_next++];
    return true;
  }

  // The flag next() moved to.
  const std::string& flag() const { return m_flag; }

  // The current flag's value (the argument after it), or "<flag> needs a value".
  const char* value()
  {
    if (m_next >= m_argc) {
      fail(m_flag + " needs a value");
    }
    return m_argv[m_next++];
  }

  // The current flag's value as a whole decimal number in [low, high], or why it is not.
  long number(long low, long high)
  {
    const char* text = value();
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < low || v > high) {
      fail(m_flag + ": not a number in [" + std::to_string(low) + ", " + std::to_string(high) + "]: " + text);
    }
    return v;
  }

  // Ends the tool with usage_exit(why), e.g. for "unknown flag: --x" or a missing flag.
  [[noreturn]] void fail(const std::string& why) const { usage_exit(m_usage, why); }

private:
  int m_argc;
  char** m_argv;
  Usage m_usage;
  std::string m_mode;
  std::string m_flag;
  int m_next = 2;
};

} // namespace tw::tools
