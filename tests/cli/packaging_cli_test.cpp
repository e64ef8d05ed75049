// What the package ships beside the binary: the monitor's systemd unit passes
// `systemd-analyze verify` (with ExecStart pointed at the binary under test).
#include "support/process.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tw::test {
namespace {

namespace fs = std::filesystem;

TEST(Packaging, TheMonitorUnitPassesSystemdAnalyzeVerify)
{
  const fs::path unit =
    fs::path(required_env("TW_SOURCE_DIR")) / "packaging/debian/tw-advisor.tw-advisor-monitor.service";
  const auto text = read_file(unit);
  ASSERT_TRUE(text) << unit;
  std::string body = *text;
  const std::string installed = "/usr/sbin/tw-advisor";
  const auto at = body.find("ExecStart=" + installed);
  ASSERT_NE(at, std::string::npos) << body;
  body.replace(at + 10, installed.size(), required_env("TW_ADVISOR_BIN"));
  EXPECT_NE(body.find("CapabilityBoundingSet="), std::string::npos);
  EXPECT_NE(body.find("ProtectSystem=strict"), std::string::npos);
  EXPECT_NE(body.find("PrivateTmp=yes"), std::string::npos);
  const fs::path dir = fs::temp_directory_path() / ("twa-unit-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path copy = dir / "tw-advisor-monitor.service";
  std::ofstream(copy) << body;
  const RunResult r = run({ "systemd-analyze", "verify", "--man=no", copy.string() });
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // A unit that names a missing binary fails: the check can fail.
  std::ofstream(copy) << *text;
  if (!fs::exists(installed)) {
    EXPECT_NE(run({ "systemd-analyze", "verify", "--man=no", copy.string() }).exit_code, 0);
  }
  fs::remove_all(dir);
}

} // namespace
} // namespace tw::test
