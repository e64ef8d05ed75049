#pragma once

#include "model/sysctl.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace tw {

// The version of the recording format this code writes and reads (doc/census.md).
inline constexpr int k_dump_format_version = 1;

// One sock_diag dump as the census asks for it: what a recorded section must match on replay.
struct DumpRequest
{
  int family = 0;           // AF_INET or AF_INET6
  std::uint32_t states = 0; // inet_diag_req_v2.idiag_states
  bool want_info = false;   // INET_DIAG_INFO (tcp_info) asked for
  bool operator==(const DumpRequest& o) const = default;
};

// "AF_INET states=0x00000400 tcp_info=no", for messages.
std::string describe(const DumpRequest& request);

// One section of a recording: the request, the netlink sequence number its replies carry, and
// how many raw reply bytes follow.
struct RecordedDump
{
  DumpRequest request;
  std::uint32_t seq = 0;
  std::uint64_t bytes = 0;
};

// Writes a census recording: a text header (format version, byte order, kernel release, whether
// tcp_info was asked for, the sysctls the census classified with), then one section per dump with
// exactly the bytes the kernel returned. It goes to a temporary file beside the target that only
// commit() renames into place, so a failed census never leaves a partial recording.
class DumpFileWriter
{
public:
  // Creates the temporary file (mode 0600: it lists every connection) and writes the header.
  // Throws tw::Error naming the path.
  DumpFileWriter(std::filesystem::path path, const Sysctls& sysctls, bool timestamps);
  // Removes the temporary file unless commit() succeeded.
  ~DumpFileWriter();
  DumpFileWriter(const DumpFileWriter&) = delete;
  DumpFileWriter& operator=(const DumpFileWriter&) = delete;

  // Starts the section of one dump whose replies carry seq; 0 or an errno.
  int begin_dump(const DumpRequest& request, std::uint32_t seq);
  // Appends raw reply bytes (one recv's worth) to the current section; 0 or an errno.
  int append(const std::uint8_t* data, std::size_t len);
  // Ends the current section, filling in its byte count; 0 or an errno.
  int end_dump();
  // Flushes, fsyncs and renames the recording to its path. Throws tw::Error naming the path.
  void commit();

  // The path the recording is committed to.
  const std::filesystem::path& path() const { return m_path; }
  // The temporary file written until commit(), for messages.
  const std::filesystem::path& temp_path() const { return m_temp; }

private:
  std::filesystem::path m_path;
  std::filesystem::path m_temp;
  std::FILE* m_file = nullptr;
  long long m_count_at = -1; // file offset of the current section's byte count, -1 outside one
  std::uint64_t m_section_bytes = 0;
  bool m_committed = false;
};

// Reads a census recording written by DumpFileWriter: the header at once, then the sections in
// order, streamed (memory stays flat however large the recording is).
class DumpFileReader
{
public:
  // Opens path and reads the header. Throws tw::Error naming the path (and the header line) for
  // an unreadable file, another format version, another byte order or a malformed header.
  explicit DumpFileReader(std::filesystem::path path);
  ~DumpFileReader();
  DumpFileReader(const DumpFileReader&) = delete;
  DumpFileReader& operator=(const DumpFileReader&) = delete;

  // The sysctls recorded with the dumps (the census classifies with these, not the host's).
  const Sysctls& sysctls() const { return m_sysctls; }
  // Whether the dumps asked for tcp_info (the census was not run with --no-timestamps).
  bool timestamps() const { return m_timestamps; }
  // The kernel release the recording was made on.
  const std::string& kernel() const { return m_kernel; }
  // The recording's path, for messages.
  const std::filesystem::path& path() const { return m_path; }

  // Skips what is left of the current section and reads the next section's line. False at the
  // end of the file (why empty) or when the line is malformed (why says so).
  bool next_dump(RecordedDump& out, std::string& why);
  // Reads up to len bytes of the current section; 0 at its end. A file shorter than its section
  // says sets error (an errno; EBADMSG when cut off).
  std::size_t read(std::uint8_t* data, std::size_t len, int& error);
  // True when no section is left after the current one (call after its bytes were read).
  bool at_end();

private:
  std::filesystem::path m_path;
  std::FILE* m_file = nullptr;
  Sysctls m_sysctls;
  bool m_timestamps = true;
  std::string m_kernel;
  std::uint64_t m_left = 0;    // bytes of the current section not yet read
  std::uint64_t m_section = 0; // sections started so far, for messages
};

} // namespace tw
