// The census's Processes table: how the owners were found, one row per process within 80
// columns, and what was not named said plainly.
#include "report/processes_text.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tw::test {
namespace {

std::size_t widest_line(const std::string& text)
{
  std::istringstream in(text);
  std::size_t widest = 0;
  for (std::string line; std::getline(in, line);) {
    widest = std::max(widest, line.size());
  }
  return widest;
}

ProcessAttribution named()
{
  ProcessAttribution a;
  a.walked = true;
  a.reader = "bpf-iter";
  a.sockets_wanted = 30;
  a.sockets_found = 28;
  a.fds_scanned = 1200;
  a.walk_ms = 21.4;
  a.process_count = 12;
  for (std::uint32_t pid = 100; pid < 112; ++pid) {
    ProcessConnections p;
    p.pid = pid;
    p.comm = pid == 100 ? "api-gateway-wor" : "worker";
    p.connections = { 2, 0, pid == 100 ? 4U : 0U };
    p.destinations.push_back({ "[fd00:1234:5678:9abc:def0:1234:5678:9abc]:443", false, { 2, 0, 0 } });
    a.processes.push_back(p);
  }
  return a;
}

TEST(ReportProcessesText, RowsFitEightyColumnsAndTheRestIsCounted)
{
  const std::string text = processes_to_text(named(), 10);
  EXPECT_LE(widest_line(text), 80U) << text;
  EXPECT_NE(text.find("28 of 30 sockets named"), std::string::npos) << text;
  EXPECT_NE(text.find("by the kernel's task_file iterator"), std::string::npos) << text;
  EXPECT_NE(text.find("      100 api-gateway-wor      2     0      4"), std::string::npos) << text;
  EXPECT_NE(text.find("[fd00:1234:5678:9abc:def0:1234:5678:9abc]:443"), std::string::npos) << text;
  EXPECT_NE(text.find("... 2 more processes"), std::string::npos) << text;
  EXPECT_EQ(text.find("      111 "), std::string::npos) << "beyond max_rows: counted, not shown\n" << text;
}

TEST(ReportProcessesText, WhatWasNotNamedIsSaid)
{
  ProcessAttribution a = named();
  a.reader = "proc-walk";
  a.processes_unreadable = 1;
  a.processes_vanished = 3;
  a.sockets_not_asked = 5;
  const std::string text = processes_to_text(a, 10);
  EXPECT_NE(text.find("from /proc"), std::string::npos) << text;
  EXPECT_NE(text.find("1 process could not be read: run as root"), std::string::npos) << text;
  EXPECT_NE(text.find("3 processes exited during the walk"), std::string::npos) << text;
  EXPECT_NE(text.find("5 sockets beyond the table's cap were not looked for"), std::string::npos) << text;

  ProcessAttribution off;
  off.reason = "not for a recorded census, whose replay has no /proc";
  EXPECT_EQ(processes_to_text(off),
            "Processes: not named: not for a recorded census, whose replay has no /proc\n");
}

} // namespace
} // namespace tw::test
