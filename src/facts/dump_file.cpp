// The census recording format (doc/census.md, "Recording and replaying a census"): a text
// header, then per dump one text line and the raw netlink bytes the kernel returned. Each
// section's bytes are exactly what `ss -D FILE` writes for one dump, so they can be cut out and
// read with `TCPDIAG_FILE=... ss`. No netlink calls here: sock_diag.cpp feeds and reads it.
#include "facts/dump_file.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"
#include "util/version.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <utility>

namespace tw {

namespace {

constexpr const char* k_magic = "tw-advisor sock_diag recording";
constexpr std::size_t k_max_line = 4096;         // header and section lines; longer is not ours
constexpr std::size_t k_max_header_lines = 1024; // a header has a handful; this bounds a bad file
constexpr int k_count_digits = 20;               // the byte count is filled in once the dump ended

const char* byte_order()
{
  return std::endian::native == std::endian::little ? "little" : "big";
}

const char* family_text(int family)
{
  return family == AF_INET ? "AF_INET" : family == AF_INET6 ? "AF_INET6" : "AF_UNSPEC";
}

// One line without its newline; false at the end of the file with nothing read. Throws when a
// line is longer than k_max_line (not a recording of ours).
bool read_line(std::FILE* file, std::string& line, const std::string& where)
{
  line.clear();
  for (;;) {
    const int c = std::getc(file);
    if (c == EOF) {
      return !line.empty();
    }
    if (c == '\n') {
      return true;
    }
    if (line.size() >= k_max_line) {
      throw Error(where,
                  "a line longer than " + std::to_string(k_max_line) + " bytes: not a census recording");
    }
    line.push_back(static_cast<char>(c));
  }
}

// A header value on one line: newlines (never in /proc/sys values, possible in errno texts of
// other locales) become spaces.
std::string one_line(std::string text)
{
  for (auto& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return text;
}

std::optional<ReadStatus> parse_status(std::string_view text)
{
  for (const ReadStatus s : { ReadStatus::ok, ReadStatus::absent, ReadStatus::denied, ReadStatus::error }) {
    if (text == to_string(s)) {
      return s;
    }
  }
  return std::nullopt;
}

// "sysctl KEY STATUS ERRNO TEXT": TEXT is the value when STATUS is ok, else the reason.
std::optional<SysctlValue> parse_sysctl_line(std::string_view rest)
{
  SysctlValue v;
  std::array<std::string_view, 3> fields;
  for (auto& field : fields) {
    const auto space = rest.find(' ');
    field = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (field.empty()) {
      return std::nullopt;
    }
  }
  const auto status = parse_status(fields[1]);
  const auto err = parse_int(fields[2]);
  if (!status || !err || *err < 0 || *err > 4095) {
    return std::nullopt;
  }
  v.key = std::string(fields[0]);
  v.status = *status;
  v.error = static_cast<int>(*err);
  (v.status == ReadStatus::ok ? v.value : v.detail) = std::string(rest);
  return v;
}

// The value of "name=VALUE", or nullopt when token is not that.
std::optional<std::string_view> field(std::string_view token, std::string_view name)
{
  if (token.size() <= name.size() || token.substr(0, name.size()) != name || token[name.size()] != '=') {
    return std::nullopt;
  }
  return token.substr(name.size() + 1);
}

std::optional<RecordedDump> parse_section_line(std::string_view line)
{
  const auto tokens = split_ws(line);
  if (tokens.size() != 6 || tokens[0] != "dump") {
    return std::nullopt;
  }
  RecordedDump d;
  if (tokens[1] == "AF_INET") {
    d.request.family = AF_INET;
  } else if (tokens[1] == "AF_INET6") {
    d.request.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  const auto states = field(tokens[2], "states");
  const auto info = field(tokens[3], "tcp_info");
  const auto seq = field(tokens[4], "seq");
  const auto bytes = field(tokens[5], "bytes");
  if (!states || !info || !seq || !bytes || states->size() != 10 || states->substr(0, 2) != "0x") {
    return std::nullopt;
  }
  char* end = nullptr;
  const std::string hex(states->substr(2));
  const unsigned long mask = std::strtoul(hex.c_str(), &end, 16);
  if (end != hex.c_str() + hex.size()) {
    return std::nullopt;
  }
  d.request.states = static_cast<std::uint32_t>(mask);
  if (*info != "yes" && *info != "no") {
    return std::nullopt;
  }
  d.request.want_info = *info == "yes";
  const auto s = parse_uint(*seq);
  const auto b = parse_uint(*bytes);
  if (!s || *s > UINT32_MAX || !b) {
    return std::nullopt;
  }
  d.seq = static_cast<std::uint32_t>(*s);
  d.bytes = *b;
  return d;
}

} // namespace

std::string describe(const DumpRequest& request)
{
  char states[16];
  std::snprintf(states, sizeof(states), "0x%08" PRIx32, request.states);
  return std::string(family_text(request.family)) + " states=" + states +
         " tcp_info=" + (request.want_info ? "yes" : "no");
}

DumpFileWriter::DumpFileWriter(std::filesystem::path path, const Sysctls& sysctls, bool timestamps)
  : m_path(std::move(path))
{
  if (m_path.filename().empty()) {
    throw Error(m_path.string(), "the recording needs a file name, not a directory");
  }
  const std::filesystem::path dir = m_path.has_parent_path() ? m_path.parent_path() : ".";
  std::string name = (dir / ("." + m_path.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkstemp(name.data())); // O_EXCL, mode 0600
  if (!fd.valid()) {
    throw Error(m_path.string(), "creating the recording beside it: " + errno_text(errno));
  }
  m_temp = name;
  m_file = ::fdopen(fd.get(), "wb");
  if (m_file == nullptr) {
    const int err = errno;
    fd.reset();
    ::unlink(m_temp.c_str());
    throw Error(m_temp.string(), "fdopen: " + errno_text(err));
  }
  fd.release(); // the FILE owns it now
  utsname uts{};
  const std::string kernel = ::uname(&uts) == 0 ? uts.release : "unknown";
  std::string header = std::string(k_magic) + " " + std::to_string(k_dump_format_version) + "\n";
  header += std::string("recorded-by tw-advisor ") + k_version + "\n";
  header += "kernel " + one_line(kernel) + "\n";
  header += std::string("byte-order ") + byte_order() + "\n";
  header += std::string("timestamps ") + (timestamps ? "yes" : "no") + "\n";
  for (const auto& [key, v] : sysctls.values) {
    header += "sysctl " + key + " " + to_string(v.status) + " " + std::to_string(v.error);
    const std::string text = one_line(v.status == ReadStatus::ok ? v.value : v.detail);
    if (!text.empty()) {
      header += " " + text;
    }
    header += "\n";
  }
  header += "\n";
  if (std::fwrite(header.data(), 1, header.size(), m_file) != header.size()) {
    throw Error(m_temp.string(), "writing the recording's header: " + errno_text(errno));
  }
}

DumpFileWriter::~DumpFileWriter()
{
  if (m_file != nullptr) {
    std::fclose(m_file);
  }
  if (!m_committed && !m_temp.empty()) {
    ::unlink(m_temp.c_str());
  }
}

int DumpFileWriter::begin_dump(const DumpRequest& request, std::uint32_t seq)
{
  if (m_file == nullptr || m_count_at >= 0) {
    return EINVAL;
  }
  const std::string line = "dump " + describe(request) + " seq=" + std::to_string(seq) + " bytes=";
  if (std::fputs(line.c_str(), m_file) == EOF) {
    return errno != 0 ? errno : EIO;
  }
  m_count_at = ::ftello(m_file);
  m_section_bytes = 0;
  if (m_count_at < 0 || std::fprintf(m_file, "%0*d\n", k_count_digits, 0) < 0) {
    return errno != 0 ? errno : EIO;
  }
  return 0;
}

int DumpFileWriter::append(const std::uint8_t* data, std::size_t len)
{
  if (m_file == nullptr || m_count_at < 0) {
    return EINVAL;
  }
  if (std::fwrite(data, 1, len, m_file) != len) {
    return errno != 0 ? errno : EIO;
  }
  m_section_bytes += len;
  return 0;
}

int DumpFileWriter::end_dump()
{
  if (m_file == nullptr || m_count_at < 0) {
    return EINVAL;
  }
  const off_t end = ::ftello(m_file);
  if (end < 0 || ::fseeko(m_file, m_count_at, SEEK_SET) != 0 ||
      std::fprintf(m_file, "%0*" PRIu64, k_count_digits, m_section_bytes) < 0 ||
      ::fseeko(m_file, end, SEEK_SET) != 0) {
    return errno != 0 ? errno : EIO;
  }
  m_count_at = -1;
  return 0;
}

void DumpFileWriter::commit()
{
  if (m_file == nullptr) {
    throw Error(m_path.string(), "the recording was already committed");
  }
  if (m_count_at >= 0) {
    throw Error(m_temp.string(), "a dump section was never ended");
  }
  std::FILE* file = std::exchange(m_file, nullptr);
  if (std::fflush(file) != 0) {
    const int err = errno;
    std::fclose(file);
    throw Error(m_temp.string(), "writing the recording: " + errno_text(err));
  }
  if (std::fclose(file) != 0) {
    throw Error(m_temp.string(), "closing the recording: " + errno_text(errno));
  }
  if (::rename(m_temp.c_str(), m_path.c_str()) != 0) {
    throw Error(m_path.string(), "renaming " + m_temp.string() + " into place: " + errno_text(errno));
  }
  m_committed = true;
}

DumpFileReader::DumpFileReader(std::filesystem::path path)
  : m_path(std::move(path))
{
  m_file = std::fopen(m_path.c_str(), "rb");
  if (m_file == nullptr) {
    throw Error(m_path.string(), errno_text(errno));
  }
  struct stat st
  {};
  if (::fstat(::fileno(m_file), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(m_file);
    m_file = nullptr;
    throw Error(m_path.string(), errno_text(EISDIR));
  }
  const auto where = [this](std::size_t line) { return m_path.string() + ":" + std::to_string(line); };
  std::string line;
  if (!read_line(m_file, line, where(1)) || line.rfind(std::string(k_magic) + " ", 0) != 0) {
    std::fclose(m_file);
    m_file = nullptr;
    throw Error(m_path.string(),
                std::string("not a census recording (it does not start with \"") + k_magic + "\")");
  }
  const std::string version = line.substr(std::string(k_magic).size() + 1);
  if (version != std::to_string(k_dump_format_version)) {
    std::fclose(m_file);
    m_file = nullptr;
    throw Error(where(1),
                "recording format version " + version + "; this tw-advisor reads version " +
                  std::to_string(k_dump_format_version));
  }
  bool has_order = false;
  bool has_timestamps = false;
  bool ended = false;
  try {
    for (std::size_t n = 2; n <= k_max_header_lines + 1 && read_line(m_file, line, where(n)); ++n) {
      if (line.empty()) {
        ended = true;
        break;
      }
      const auto space = line.find(' ');
      const std::string_view keyword = std::string_view(line).substr(0, space);
      const std::string_view rest =
        space == std::string::npos ? std::string_view{} : std::string_view(line).substr(space + 1);
      if (keyword == "recorded-by") {
        continue; // informational
      }
      if (keyword == "kernel") {
        m_kernel = std::string(rest);
      } else if (keyword == "byte-order") {
        if (rest != "little" && rest != "big") {
          throw Error(where(n), "byte-order must be little or big, not \"" + std::string(rest) + "\"");
        }
        if (rest != byte_order()) {
          throw Error(where(n),
                      "recorded on a " + std::string(rest) +
                        "-endian host; netlink messages are in the host's byte "
                        "order, so replay it on a " +
                        std::string(rest) + "-endian one");
        }
        has_order = true;
      } else if (keyword == "timestamps") {
        if (rest != "yes" && rest != "no") {
          throw Error(where(n), "timestamps must be yes or no, not \"" + std::string(rest) + "\"");
        }
        m_timestamps = rest == "yes";
        has_timestamps = true;
      } else if (keyword == "sysctl") {
        auto v = parse_sysctl_line(rest);
        if (!v) {
          throw Error(where(n), "malformed sysctl line (want \"sysctl KEY STATUS ERRNO VALUE\")");
        }
        std::string key = v->key;
        m_sysctls.values[key] = std::move(*v);
      } else {
        throw Error(where(n), "unknown header line \"" + std::string(keyword) + "\"");
      }
    }
    if (!ended) {
      throw Error(m_path.string(),
                  "the header does not end with an empty line (cut off, or not a recording)");
    }
    if (!has_order || !has_timestamps) {
      throw Error(m_path.string(), "the header lacks its byte-order or timestamps line");
    }
  } catch (...) {
    std::fclose(m_file);
    m_file = nullptr;
    throw;
  }
}

DumpFileReader::~DumpFileReader()
{
  if (m_file != nullptr) {
    std::fclose(m_file);
  }
}

bool DumpFileReader::next_dump(RecordedDump& out, std::string& why)
{
  why.clear();
  std::array<std::uint8_t, 4096> scratch{};
  while (m_left > 0) {
    int error = 0;
    (void)read(scratch.data(), scratch.size(), error);
    if (error != 0) {
      why = "section " + std::to_string(m_section) + " is cut off (" + errno_text(error) + ")";
      return false;
    }
  }
  std::string line;
  try {
    if (!read_line(m_file, line, m_path.string())) {
      return false; // the end: no more sections
    }
  } catch (const Error& e) {
    why = e.reason();
    return false;
  }
  ++m_section;
  const auto d = parse_section_line(line);
  if (!d) {
    why = "section " + std::to_string(m_section) + " starts with a malformed line \"" + printable(line) +
          "\" (want \"dump FAMILY states=0x... tcp_info=yes|no seq=N bytes=N\")";
    return false;
  }
  out = *d;
  m_left = d->bytes;
  return true;
}

std::size_t DumpFileReader::read(std::uint8_t* data, std::size_t len, int& error)
{
  error = 0;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len, m_left));
  if (want == 0) {
    return 0;
  }
  const std::size_t got = std::fread(data, 1, want, m_file);
  if (got < want) {
    error = std::ferror(m_file) != 0 ? errno : EBADMSG;
    m_left = 0;
    return got;
  }
  m_left -= got;
  return got;
}

bool DumpFileReader::at_end()
{
  std::array<std::uint8_t, 4096> scratch{};
  int error = 0;
  while (m_left > 0 && read(scratch.data(), scratch.size(), error) > 0) {
  }
  const int c = std::getc(m_file);
  if (c == EOF) {
    return true;
  }
  std::ungetc(c, m_file);
  return false;
}

} // namespace tw
