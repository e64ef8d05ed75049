#include "util/durable_fs.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace {

std::string errno_step(const char* step, int err)
{
  return std::string(step) + ": " + errno_text(err);
}

void write_all(int fd, std::string_view data, const std::string& what)
{
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(what, errno_step("write", errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// fd's bytes from its offset to the end, or tw::Error naming what.
std::string read_all(int fd, const std::string& what)
{
  auto result = read_fd(fd);
  if (!result) {
    throw Error(what, errno_step("read", result.error()));
  }
  return std::move(*result);
}

} // namespace

Dir Dir::open(const std::filesystem::path& path)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(path.string(), errno_step("open directory", errno));
  }
  return Dir(fd, path);
}

Dir::Dir(int fd, std::filesystem::path path)
  : m_fd(fd)
  , m_path(std::move(path))
{
}

void fsync_dir(const Dir& dir)
{
  if (::fsync(dir.fd()) != 0) {
    throw Error(dir.path().string(), errno_step("fsync of the directory", errno));
  }
}

std::optional<FileContent> read_file_at(const Dir& dir, const std::string& name)
{
  const auto what = dir.name_path(name);
  const UniqueFd fd(::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    if (errno == ELOOP) {
      throw Error(what, "is a symbolic link; refusing to read or replace it through the link");
    }
    throw Error(what, errno_step("open", errno));
  }
  struct stat st
  {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(what, S_ISREG(st.st_mode) ? errno_step("fstat", errno) : "not a regular file");
  }
  FileContent out;
  out.mode = st.st_mode & 07777;
  out.bytes = read_all(fd.get(), what);
  return out;
}

bool exists_at(const Dir& dir, const std::string& name)
{
  struct stat st
  {};
  return ::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void write_file_atomically(const Dir& dir,
                           const std::string& name,
                           const std::string& temp_name,
                           std::string_view content,
                           mode_t mode,
                           const std::function<void()>& before_rename)
{
  const auto temp_what = dir.name_path(temp_name);
  // Checked first: on a read-only file system unlink reports EROFS even for a missing name.
  if (exists_at(dir, temp_name) && ::unlinkat(dir.fd(), temp_name.c_str(), 0) != 0 && errno != ENOENT) {
    throw Error(temp_what, errno_step("removing a leftover temp file", errno));
  }
  UniqueFd fd(
    ::openat(dir.fd(), temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) {
    throw Error(temp_what, errno_step("create", errno));
  }
  try {
    if (::fchmod(fd.get(), mode) != 0) {
      throw Error(temp_what, errno_step("fchmod", errno));
    }
    write_all(fd.get(), content, temp_what);
    if (::fsync(fd.get()) != 0) {
      throw Error(temp_what, errno_step("fsync", errno));
    }
    if (const int err = fd.close(); err != 0) {
      throw Error(temp_what, errno_step("close", err));
    }
  } catch (...) {
    fd.reset();
    ::unlinkat(dir.fd(), temp_name.c_str(), 0);
    throw;
  }
  if (before_rename) {
    before_rename();
  }
  if (::renameat(dir.fd(), temp_name.c_str(), dir.fd(), name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dir.fd(), temp_name.c_str(), 0);
    throw Error(dir.name_path(name), errno_step(("rename from " + temp_name).c_str(), err));
  }
  fsync_dir(dir);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode)
{
  const auto name = path.filename().string();
  const Dir dir = Dir::open(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
  write_file_atomically(dir, name, "." + name + ".tmp." + std::to_string(::getpid()), content, mode);
}

void remove_file_durably(const Dir& dir, const std::string& name)
{
  // Checked first: on a read-only file system unlink reports EROFS even for a missing name.
  if (!exists_at(dir, name)) {
    return;
  }
  if (::unlinkat(dir.fd(), name.c_str(), 0) != 0) {
    if (errno == ENOENT) {
      return;
    }
    throw Error(dir.name_path(name), errno_step("remove", errno));
  }
  fsync_dir(dir);
}

Dir open_state_dir(const std::filesystem::path& path, bool tighten)
{
  const auto absolute = std::filesystem::absolute(path).lexically_normal();
  std::vector<std::string> parts;
  for (const auto& part : absolute.relative_path()) {
    if (!part.empty()) {
      parts.push_back(part.string());
    }
  }
  if (parts.empty()) {
    throw Error(path.string(), "the state directory cannot be /");
  }
  Dir current = Dir::open("/");
  std::filesystem::path so_far = "/";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const auto& part = parts[i];
    so_far /= part;
    bool created = false;
    if (::mkdirat(current.fd(), part.c_str(), last ? 0700 : 0755) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      throw Error(so_far.string(), errno_step("mkdir", errno));
    }
    // Existing parents may be symlinks (/var on some systems); what we create or own may not be.
    const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | ((created || last) ? O_NOFOLLOW : 0);
    const int fd = ::openat(current.fd(), part.c_str(), flags);
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        throw Error(
          so_far.string(),
          "is a symbolic link or not a directory; refusing to use it as (part of) the state directory");
      }
      throw Error(so_far.string(), errno_step("open", errno));
    }
    current = Dir(fd, so_far);
    if (created) {
      fsync_dir(Dir::open(so_far.parent_path()));
    }
  }
  struct stat st
  {};
  if (::fstat(current.fd(), &st) != 0) {
    throw Error(absolute.string(), errno_step("fstat", errno));
  }
  if (st.st_uid != ::geteuid()) {
    throw Error(absolute.string(),
                "owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                  std::to_string(::geteuid()) + "); refusing a state directory another user controls");
  }
  const std::string mode = fmt::format("{:04o}", st.st_mode & 07777);
  if ((st.st_mode & 022) != 0) {
    // Others could already have planted a journal: refuse rather than trust or repair it.
    throw Error(absolute.string(),
                std::string("mode ") + mode + " lets group or others write to it; chmod 0700 it first");
  }
  if (tighten && (st.st_mode & 077) != 0) {
    // Readable by others (0755 from an older tool or a hand-made directory): the journal holds the
    // host's settings and the lock, so tighten it to 0700. It is ours and not a symlink (O_NOFOLLOW).
    if (::fchmod(current.fd(), 0700) != 0) {
      throw Error(absolute.string(), std::string("mode ") + mode + ": " + errno_step("chmod 0700", errno));
    }
  }
  return current;
}

FileLock::FileLock(const Dir& dir,
                   std::string name,
                   const std::string& command,
                   const std::string& what,
                   bool remove_on_release)
  : m_name(std::move(name))
  , m_remove(remove_on_release)
{
  const auto path = dir.name_path(m_name);
  for (int reopen = 0;; ++reopen) {
    m_fd.reset(::openat(dir.fd(), m_name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!m_fd.valid()) {
      throw Error(path, errno_step("open", errno));
    }
    // A reader probing the lock (plan, status: lock_holder) holds it shared for an instant; a few
    // short retries keep that from refusing an apply. A real holder is still refused within ~1 s.
    int locked = ::flock(m_fd.get(), LOCK_EX | LOCK_NB);
    for (int attempt = 0; locked != 0 && errno == EWOULDBLOCK && attempt < 10; ++attempt) {
      ::usleep(100000);
      locked = ::flock(m_fd.get(), LOCK_EX | LOCK_NB);
    }
    if (locked != 0) {
      const int err = errno;
      std::string holder;
      try {
        ::lseek(m_fd.get(), 0, SEEK_SET);
        holder = std::string(trim(read_all(m_fd.get(), path)));
      } catch (const Error&) {
        holder.clear();
      }
      m_fd.reset();
      if (err == EWOULDBLOCK) {
        throw LockHeld(what,
                       "another tw-advisor apply or rollback holds " + path + " (" +
                         (holder.empty() ? std::string("holder not recorded yet") : printable(holder)) +
                         "); wait for it to finish");
      }
      throw Error(path, errno_step("flock", err));
    }
    if (!m_remove) {
      break;
    }
    // A releasing holder unlinks the file before it closes it: a lock taken on an unlinked (or
    // replaced) file protects nothing, so take it again on the file the name holds now.
    struct stat held
    {};
    struct stat named
    {};
    if (::fstat(m_fd.get(), &held) == 0 &&
        ::fstatat(dir.fd(), m_name.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      break;
    }
    m_fd.reset();
    if (reopen >= 100) {
      throw Error(path, "the lock file keeps being replaced; is another program removing it?");
    }
  }
  if (m_remove) {
    m_dir_fd.reset(::fcntl(dir.fd(), F_DUPFD_CLOEXEC, 0));
  }
  std::time_t now = std::time(nullptr);
  char when[32];
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string info =
    "pid " + std::to_string(::getpid()) + ", command: " + command + ", since " + when + "\n";
  if (::ftruncate(m_fd.get(), 0) == 0) {
    ::pwrite(m_fd.get(), info.data(), info.size(), 0);
  }
}

FileLock::~FileLock()
{
  // Unlinked while still held (the members close after this body), so nobody can take the lock
  // on this name and then lose it to us.
  if (m_fd.valid() && m_remove && m_dir_fd.valid()) {
    ::unlinkat(m_dir_fd.get(), m_name.c_str(), 0);
  }
}

StateLock::StateLock(const Dir& state_dir, const std::string& command)
  : FileLock(state_dir, "lock", command, state_dir.path().string(), false)
{
}

std::optional<std::string> lock_holder(const Dir& dir, const std::string& name)
{
  const UniqueFd fd(::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return std::nullopt;
  }
  const bool held = ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  std::optional<std::string> holder;
  if (held) {
    try {
      holder = printable(trim(read_all(fd.get(), dir.name_path(name))));
    } catch (const Error&) {
      holder = "";
    }
  }
  return holder;
}

bool state_lock_held(const Dir& state_dir)
{
  return lock_holder(state_dir, "lock").has_value();
}

} // namespace tw
