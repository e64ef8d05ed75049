#pragma once

#include "util/unique_fd.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace tw {

// An open directory (O_DIRECTORY), closed on destruction. Every write below goes through its fd
// with *at() calls, so a path swapped for a symlink after opening cannot redirect them.
class Dir
{
public:
  // Opens path as a directory, following symlinks in it. Throws tw::Error naming the path.
  static Dir open(const std::filesystem::path& path);
  // Takes ownership of an open directory fd.
  Dir(int fd, std::filesystem::path path);

  // The directory's fd, for *at() calls.
  int fd() const { return m_fd.get(); }
  // The path it was opened by, for messages.
  const std::filesystem::path& path() const { return m_path; }
  // path() / name, for messages.
  std::string name_path(const std::string& name) const { return (m_path / name).string(); }

private:
  UniqueFd m_fd;
  std::filesystem::path m_path;
};

// What a regular file held: its exact bytes and permission bits.
struct FileContent
{
  std::string bytes;
  mode_t mode = 0644;
};

// fsync of the directory itself, so created, renamed and removed names are durable.
void fsync_dir(const Dir& dir);

// Reads name in dir without following a symlink; nullopt when it does not exist. Throws tw::Error
// (path and errno text) on any other problem, including a symlink or a non-regular file.
std::optional<FileContent> read_file_at(const Dir& dir, const std::string& name);

// True when name exists in dir (any type, symlinks not followed).
bool exists_at(const Dir& dir, const std::string& name);

// Replaces name in dir with content atomically: writes temp_name (O_EXCL, a leftover is removed
// first), fsyncs it, calls before_rename (the mid-persist failpoint), renames it over name and
// fsyncs dir. Readers see the old file or the new one, never a mix. Throws tw::Error on failure,
// after removing the temp file.
void write_file_atomically(const Dir& dir,
                           const std::string& name,
                           const std::string& temp_name,
                           std::string_view content,
                           mode_t mode,
                           const std::function<void()>& before_rename = {});

// write_file_atomically() for a path: its directory opened (the current one for a bare name), the
// temp file ".NAME.tmp.PID" beside it.
void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode);

// Removes name from dir (absent is fine) and fsyncs dir. Throws tw::Error on any other errno.
void remove_file_durably(const Dir& dir, const std::string& name);

// Opens (creating with mode 0700 when missing) the state directory safely: components this call
// creates and the last component are opened without following symlinks, and the directory is
// refused when it is not owned by this user or is writable by group or others. An existing directory
// that group or others can only read (0755) is chmod-ed to 0700 when tighten (apply, rollback).
Dir open_state_dir(const std::filesystem::path& path, bool tighten = true);

// An exclusive flock on a file: released when destroyed or when the process dies, so a killed
// apply never leaves a lock held.
class FileLock
{
public:
  // Takes the lock on name in dir (created 0600, never through a symlink) without waiting beyond
  // about a second; throws tw::Error about `what` naming the holder's pid and command line when
  // another process holds it. command is recorded in the file for the next one. With
  // remove_on_release the file is unlinked when the lock is released, so no lock file is left.
  FileLock(const Dir& dir,
           std::string name,
           const std::string& command,
           const std::string& what,
           bool remove_on_release);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  UniqueFd m_fd;
  UniqueFd m_dir_fd; // for the unlink at release
  std::string m_name;
  bool m_remove = false;
};

// The exclusive per-state-dir lock ("lock" in the state dir): one apply or rollback per journal.
class StateLock : public FileLock
{
public:
  // Takes the lock without waiting; throws tw::Error naming the holder when another process has it.
  StateLock(const Dir& state_dir, const std::string& command);
};

// What the holder of dir/name's lock recorded ("pid N, command: ..., since ...") when a process
// holds it right now; nullopt when nobody does (or the file does not exist).
std::optional<std::string> lock_holder(const Dir& dir, const std::string& name);

// True when some process holds the state dir's lock right now (an apply in progress).
bool state_lock_held(const Dir& state_dir);

} // namespace tw
