// The monitor's Prometheus exposition: parsed by the real parser (prometheus_client, through
// tests/tools/check_exposition.py), names and types by the conventions, label values escaped,
// series bounded per namespace.
#include "policy_facts.hpp"
#include "report/metrics_text.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tw::test {
namespace {

std::string problems_of(const std::string& exposition)
{
  const RunResult r = run({ "/usr/bin/python3", required_env("TW_EXPOSITION_CHECKER") }, {}, exposition);
  return r.exit_code == 0 ? "" : r.out + r.err + "(exit " + std::to_string(r.exit_code) + ")";
}

std::size_t lines_starting(const std::string& text, const std::string& prefix)
{
  std::istringstream in(text);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    n += line.rfind(prefix, 0) == 0 ? 1U : 0U;
  }
  return n;
}

NamespaceMetrics busy_namespace()
{
  NamespaceMetrics ns;
  ns.netns = "host";
  ns.facts = stuck_client_behind_nat();
  ns.facts.counters.values["TcpExt.TWRecycled"] = 12;
  ns.facts.counters.values["Tcp.AttemptFails"] = 3;
  ns.verdict = Verdict::helps;
  ns.probed = true;
  ns.destinations["198.18.1.2:8080"] = { 40, 7, 1 };
  ns.bind_eaddrinuse["198.18.1.1"] = 2;
  return ns;
}

TEST(ReportMetricsText, ARealParserReadsItAndTheConventionsHold)
{
  MonitorHealth health;
  health.last_success_unix_seconds = 1795000000.5;
  health.last_duration_seconds = 0.042;
  health.interval_seconds = 15;
  health.intervals_total = 7;
  health.errors_total = 1;
  const std::string text = metrics_text({ busy_namespace() }, health);
  EXPECT_EQ(problems_of(text), "") << text;
  EXPECT_NE(text.find("tw_advisor_time_wait_sockets{netns=\"host\",role=\"outbound\"} 1000\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("tw_advisor_destination_port_pressure_ratio{netns=\"host\",local=\"198.18.1.1\","
                      "destination=\"198.18.1.2:8080\"} 1\n"),
            std::string::npos)
    << text;
  EXPECT_NE(
    text.find("tw_advisor_connect_eaddrnotavail_total{netns=\"host\",destination=\"198.18.1.2:8080\"} 40\n"),
    std::string::npos)
    << text;
  EXPECT_NE(text.find("tw_advisor_kernel_tw_recycled_total{netns=\"host\"} 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tw_advisor_destination_time_wait_ratio{netns=\"host\",local=\"198.18.1.1\","
                      "destination=\"198.18.1.2:8080\"} 1\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("tw_advisor_probe_dropped_events_total{netns=\"host\"} 0\n"), std::string::npos)
    << text;
  EXPECT_NE(text.find("tw_advisor_verdict{netns=\"host\",verdict=\"helps\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tw_advisor_verdict{netns=\"host\",verdict=\"irrelevant\"} 0\n"), std::string::npos)
    << text;
  EXPECT_NE(text.find("tw_advisor_last_success_timestamp_seconds 1795000000.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tw_advisor_interval_errors_total 1\n"), std::string::npos) << text;
  // The checker can fail: a counter without _total and a family given twice are caught.
  EXPECT_NE(problems_of("# HELP tw_advisor_x a\n# TYPE tw_advisor_x counter\ntw_advisor_x 1\n"), "");
  EXPECT_NE(problems_of(text + "# HELP tw_advisor_intervals_total again\n# TYPE tw_advisor_intervals_total "
                               "counter\ntw_advisor_intervals_total 1\n"),
            "");
}

TEST(ReportMetricsText, LabelValuesAreEscapedAndDestinationsBounded)
{
  EXPECT_EQ(escape_label_value("pod \"a\\b\"\nx"), "pod \\\"a\\\\b\\\"\\nx");
  NamespaceMetrics ns = busy_namespace();
  ns.netns = "container \"web\"";
  for (int i = 0; i < 30; ++i) {
    add_group(ns.facts,
              "198.18.1.1",
              "198.18.2." + std::to_string(i + 1),
              443,
              static_cast<std::uint64_t>(10 + i),
              5);
  }
  const std::string text = metrics_text({ ns, busy_namespace() }, MonitorHealth{}, 10);
  EXPECT_EQ(problems_of(text), "") << text;
  // 31 destinations: the 10 with the highest pressure and the 10 with most TIME_WAIT (one is both).
  const std::size_t shown =
    lines_starting(text, "tw_advisor_destination_ports_in_use{netns=\"container \\\"web\\\"\"");
  EXPECT_GE(shown, 10U) << text;
  EXPECT_LE(shown, 19U) << text;
  EXPECT_EQ(lines_starting(text, "# TYPE tw_advisor_destination_ports_in_use "), 1U)
    << "one family, both namespaces";

  // The probe's families are bounded too: the 10 most failing destinations, in a stable order.
  NamespaceMetrics probed = busy_namespace();
  for (std::uint64_t i = 0; i < 30; ++i) {
    probed.destinations["198.18.3." + std::to_string(i + 1) + ":443"] = { i, 0, 0 };
  }
  const std::string many = metrics_text({ probed }, MonitorHealth{}, 10);
  EXPECT_EQ(problems_of(many), "") << many;
  EXPECT_EQ(lines_starting(many, "tw_advisor_connect_eaddrnotavail_total{"), 10U) << many;
  EXPECT_NE(many.find("destination=\"198.18.1.2:8080\"} 40"), std::string::npos) << "40 failures: kept\n"
                                                                                 << many;
  EXPECT_EQ(many.find("destination=\"198.18.3.1:443\""), std::string::npos) << "none: left out\n" << many;
}

} // namespace
} // namespace tw::test
