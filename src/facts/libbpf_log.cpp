#include "facts/libbpf_log.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace tw {

namespace {

std::mutex g_libbpf_mutex;
std::string g_libbpf_last; // guarded by g_libbpf_mutex

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args)
{
  std::array<char, 512> line{};
  std::vsnprintf(line.data(), line.size(), format, args);
  std::string text(line.data());
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  if (level == LIBBPF_DEBUG) {
    spdlog::trace("libbpf: {}", text);
    return 0;
  }
  spdlog::debug("libbpf: {}", text);
  const std::lock_guard<std::mutex> lock(g_libbpf_mutex);
  g_libbpf_last = text;
  return 0;
}

} // namespace

void route_libbpf_logs()
{
  libbpf_set_print(libbpf_print);
}

std::string last_libbpf_warning()
{
  const std::lock_guard<std::mutex> lock(g_libbpf_mutex);
  return g_libbpf_last;
}

} // namespace tw
