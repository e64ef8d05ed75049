#pragma once

#include "model/sysctl.hpp"
#include "sysctld/parser.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tw::sysctld {

// Which boot-time loader's rules to simulate; they differ (see KERNEL-NOTES.md, Persistence).
enum class Loader
{
  systemd, // systemd-sysctl (systemd 252 as in Debian 12)
  procps,  // procps-ng 4.0.2 `sysctl --system`
};

// "systemd-sysctl" or "sysctl --system".
const char* to_string(Loader loader);

// The directories a loader reads, highest priority first (a name found earlier masks later ones).
const std::vector<std::filesystem::path>& config_dirs(Loader loader);

// The loader that applies sysctl.d at boot on the host under root: systemd when its
// systemd-sysctl binary is there, procps otherwise.
Loader boot_loader(const std::filesystem::path& root);

// A file that is not on disk yet (or replaces one that is): what `check` asks about.
struct ProposedFile
{
  std::filesystem::path
    dest;              // where it will be installed, absolute on the target ("/etc/sysctl.d/60-net.conf")
  std::string display; // how messages name it (--dest under configuration management, else FILE)
  std::string content; // its text
  std::string input{}; // the FILE given to check, as given (a temporary copy under Ansible)
};

// One configuration file the loader will read, in the order it reads them.
struct SourceFile
{
  std::string name;           // basename: the sort key across directories
  std::filesystem::path path; // absolute path on the target host ("/etc/sysctl.d/60-net.conf")
  std::string display;        // path as shown (the proposed FILE for proposed files)
  bool proposed = false;      // comes from a ProposedFile
  bool mask = false;          // empty, or a link to /dev/null: it masks lower files and sets nothing
  bool unreadable = false;    // could not be read (the loader skips it too)
  std::string read_error;     // errno text when unreadable
  ParsedFile parsed;          // entries and problems
};

// A file that the loader never reads because a same-named file in a higher directory exists.
struct ShadowedFile
{
  std::filesystem::path path;        // the file that is ignored
  std::filesystem::path shadowed_by; // the higher-priority file with the same name
  std::string shadowed_by_display;   // how to name it (the proposed FILE when proposed)
  bool by_mask = false;              // the higher file is empty or a link to /dev/null
};

// What the loader does about one key.
struct KeyOutcome
{
  std::optional<Entry> winner;    // the assignment whose value the key ends up with
  bool excluded = false;          // a `-key` exclusion means no file sets it (winner empty)
  std::vector<Entry> assignments; // every assignment of the key (explicit or by a matching glob), file order
};

// A config directory or file the loader would read but this process cannot (EACCES as non-root):
// the resolution misses whatever it holds, so callers must not trust it as the whole answer.
struct UnreadablePath
{
  std::filesystem::path path; // absolute on the target ("/run/sysctl.d" or "/run/sysctl.d/99-z.conf")
  int error = 0;              // errno
  std::string reason;         // errno text
};

// The result of simulating one loader over a root: the files it reads and what each key gets.
struct BootResolution
{
  Loader loader = Loader::systemd;
  std::filesystem::path root;
  std::vector<SourceFile> files;          // in the order applied (procps: /etc/sysctl.conf last)
  std::vector<ShadowedFile> shadowed;     // same-named lower files that are never read
  std::vector<Entry> applied;             // the loader's effective entry list, in apply order
  std::vector<Problem> problems;          // problems found in the files (file:line)
  std::vector<UnreadablePath> unreadable; // dirs/files it could not read: the answer is incomplete

  // Whether every directory and file the loader would read could be read.
  bool complete() const { return unreadable.empty(); }

  // What happens to one canonical key (explicit assignments beat globs in both loaders).
  KeyOutcome outcome(const std::string& key) const;
  // The value the key gets at boot, when a file sets it.
  std::optional<std::string> boot_value(const std::string& key) const;
  // Canonical keys that some file assigns explicitly (not through a glob), sorted.
  std::vector<std::string> explicit_keys() const;
  // Glob entries (with a value) in apply order.
  std::vector<Entry> globs() const;
};

// Simulates loader over the tree under root (symlinks resolved inside root, a link to /dev/null
// masks). proposed files are laid over the tree (replacing a file at the same path).
BootResolution resolve(const std::filesystem::path& root,
                       Loader loader,
                       const std::vector<ProposedFile>& proposed = {});

// Whether a file installed at dest would set key at boot, and if not, what beats it.
struct Placement
{
  std::string key;
  bool wins = false;           // the file's assignment is the winner
  std::optional<Entry> winner; // the winning assignment when it is another file's
  std::string reason;          // one line: why it does not win (names file:line), empty when it wins
  std::vector<UnreadablePath> unreadable; // the resolution's unreadable paths: wins may be wrong
};

// For each key: would a file at dest (under root) that sets key=value win at boot under loader?
// values give the value per key (same order as keys); a file at dest already present is replaced.
std::vector<Placement> check_placement(const std::filesystem::path& root,
                                       Loader loader,
                                       const std::filesystem::path& dest,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& values);

// One loader's view of a drifting key.
struct LoaderBoot
{
  Loader loader = Loader::systemd;
  std::optional<std::string> boot; // what that loader sets at boot (nullopt: no file sets it)
  std::optional<Entry> source;     // the winning assignment under that loader
};

// A key whose running value differs from the boot value under at least one loader.
struct LoaderDrift
{
  std::string key;
  std::string runtime;           // as /proc/sys shows it now
  std::vector<LoaderBoot> boots; // one per resolution given, in that order
  std::string message;           // "K is R now but F:L sets B at boot under both loaders", or each named
};

// For each key whose assignment in a file at dest (under root) would NOT win at boot under both
// loaders (the host's and `sysctl --system`, which admins run by hand): one sentence naming the
// overriding file:line, its value and the loader. Empty when the file would win for every key.
std::map<std::string, std::string> overrides_at_boot(
  const std::filesystem::path& root,
  const std::filesystem::path& dest,
  const std::vector<std::pair<std::string, std::string>>& settings);

// Boot drift across several loaders (usually both), so a message can say whether they agree.
std::vector<LoaderDrift> boot_drift(const Sysctls& runtime, const std::vector<BootResolution>& resolutions);

} // namespace tw::sysctld
