#include "facts/oci_bundles.hpp"

#include "facts/host.hpp"
#include "sysctld/parser.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

namespace tw {

namespace fs = std::filesystem;

namespace {

using nlohmann::json;

// Where one runtime keeps its bundles: each directory below `dir` (containerd: one more level of
// containerd namespaces) holds config.json, or `sub`/config.json, and the init pid in pid_file.
struct BundleRoot
{
  const char* dir;
  const char* sub;      // "" or "userdata"
  const char* pid_file; // "init.pid" or "pidfile"
  bool namespaced;      // containerd: DIR/NS/ID
};

constexpr BundleRoot k_roots[] = {
  { "run/containerd/io.containerd.runtime.v2.task", "", "init.pid", true },
  { "run/docker/containerd/daemon/io.containerd.runtime.v2.task", "", "init.pid", true }, // Docker's own
  { "run/k3s/containerd/io.containerd.runtime.v2.task", "", "init.pid", true },           // k3s, RKE2
  { "run/containers/storage/overlay-containers", "userdata", "pidfile", false },
};

std::string annotation(const json& annotations, std::initializer_list<const char*> names)
{
  for (const char* name : names) {
    if (const auto it = annotations.find(name); it != annotations.end() && it->is_string()) {
      return printable(it->get<std::string>());
    }
  }
  return {};
}

// A path a config names on the host (/run/netns/cni-..., /proc/PID/ns/net), as read from here:
// /proc below proc, anything else below root (/var/run is /run: under a mounted host tree its
// absolute /var/run link would lead to this container's own /run).
fs::path host_path(const fs::path& root, const fs::path& proc, const std::string& path)
{
  if (path.rfind("/proc/", 0) == 0) {
    return proc / path.substr(6);
  }
  if (path.rfind("/var/run/", 0) == 0) {
    return under_root(root, path.substr(4));
  }
  return under_root(root, path);
}

class BundleReader
{
public:
  BundleReader(const fs::path& root, const fs::path& proc, OciBundles& out)
    : m_root(root)
    , m_proc(proc)
    , m_out(out)
  {
  }

  void read_all()
  {
    for (const BundleRoot& where : k_roots) {
      const fs::path dir = m_root / where.dir;
      if (!where.namespaced) {
        each_dir(dir, [&](const fs::path& id) { read(id, where, "cri-o"); });
        continue;
      }
      each_dir(dir, [&](const fs::path& ns) {
        // Docker's namespace is moby (moby-UID.GID with userns-remap).
        const std::string runtime = ns.filename().string().rfind("moby", 0) == 0 ? "docker" : "containerd";
        each_dir(ns, [&](const fs::path& id) { read(id, where, runtime); });
      });
    }
  }

private:
  template<class Fn>
  void each_dir(const fs::path& dir, Fn&& fn)
  {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      if (ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
        unreadable(dir, ec.message());
      }
      return;
    }
    for (const auto& entry : it) {
      std::error_code dir_ec;
      if (entry.is_directory(dir_ec)) {
        fn(entry.path());
      }
    }
  }

  void unreadable(const fs::path& path, const std::string& why)
  {
    m_out.unreadable.push_back(path.string() + " (" + why + ")");
  }

  void read(const fs::path& id_dir, const BundleRoot& where, const std::string& runtime)
  {
    const fs::path bundle = *where.sub != '\0' ? id_dir / where.sub : id_dir;
    const fs::path config_path = bundle / "config.json";
    const ReadResult text = read_file(config_path);
    if (!text) {
      if (text.error() != ENOENT) { // a bundle being made or removed has none yet or any more
        unreadable(config_path, errno_text(text.error()));
      }
      return;
    }
    json config;
    try {
      config = json::parse(*text);
    } catch (const json::exception& e) {
      unreadable(config_path, std::string("not JSON: ") + e.what());
      return;
    }
    if (!config.is_object()) {
      unreadable(config_path, "not an OCI config: not a JSON object");
      return;
    }
    try {
      read_config(config, config_path, bundle, id_dir.filename().string(), where, runtime);
    } catch (const json::exception& e) { // a member of another type than the OCI spec's
      unreadable(config_path, std::string("not an OCI config: ") + e.what());
    }
  }

  void read_config(const json& config,
                   const fs::path& config_path,
                   const fs::path& bundle,
                   const std::string& id,
                   const BundleRoot& where,
                   const std::string& runtime)
  {
    OciBundle b;
    b.runtime = runtime;
    b.container.config = config_path.string();
    const json empty = json::object();
    const json& annotations =
      config.contains("annotations") && config["annotations"].is_object() ? config["annotations"] : empty;
    describe(b, id, annotations);

    // Its init process, when the pid file names one that runs and is this container's: a pid
    // file outlives its process (CRI-O keeps an exited container's), and the pid may be reused.
    std::uint64_t pid = 0; // 0: none
    if (const auto text_pid = read_file(bundle / where.pid_file)) {
      pid = parse_uint(trim(*text_pid)).value_or(0);
    }
    if (pid != 0) {
      const auto cgroup = read_file(m_proc / std::to_string(pid) / "cgroup");
      if (!cgroup || cgroup->find(id) == std::string::npos) {
        pid = 0;
      }
    }
    b.container.running = pid != 0;

    const json& linux = config.contains("linux") && config["linux"].is_object() ? config["linux"] : empty;
    netns_of(b, linux, pid);
    // CRI-O drops a pod's infra process by default: its sandbox runs as long as its pinned
    // namespace does.
    b.container.running = b.container.running || (b.sandbox && b.netns != 0);
    if (const auto it = linux.find("sysctl"); it != linux.end() && it->is_object()) {
      std::map<std::string, std::string> sorted;
      for (const auto& [raw, value] : it->items()) {
        const sysctld::KeyParse key = sysctld::normalize_key(raw);
        if (key.key && value.is_string()) {
          sorted[*key.key] = value.get<std::string>();
        }
      }
      b.sysctls.assign(sorted.begin(), sorted.end());
    }
    m_out.bundles.push_back(std::move(b));
  }

  // Who it is, as an operator knows it: the pod (CRI annotations of containerd and CRI-O) or the
  // Docker container.
  static void describe(OciBundle& b, const std::string& id, const json& annotations)
  {
    const std::string short_id = printable(id.substr(0, 12));
    const std::string type =
      annotation(annotations, { "io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType" });
    b.sandbox = type == "sandbox";
    const std::string pod_ns =
      annotation(annotations, { "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace" });
    const std::string pod_name =
      annotation(annotations, { "io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name" });
    if (!pod_name.empty()) {
      b.container.pod = pod_ns.empty() ? pod_name : pod_ns + "/" + pod_name;
      if (b.sandbox) {
        b.container.owner = "pod " + b.container.pod + " (" + b.runtime + " sandbox " + short_id + ")";
        return;
      }
      const std::string name =
        annotation(annotations, { "io.kubernetes.cri.container-name", "io.kubernetes.container.name" });
      b.container.owner = "container " + (name.empty() ? short_id : name) + " of pod " + b.container.pod +
                          " (" + b.runtime + " " + short_id + ")";
      return;
    }
    b.container.owner = b.runtime == "docker" ? "Docker container " + short_id
                                              : "container " + short_id + " (" + b.runtime + ")";
  }

  void netns_of(OciBundle& b, const json& linux, std::uint64_t pid)
  {
    const auto spaces = linux.find("namespaces");
    if (spaces == linux.end() || !spaces->is_array()) {
      return; // no namespaces of its own: the host's network
    }
    const auto network = std::find_if(spaces->begin(), spaces->end(), [](const json& n) {
      return n.is_object() && n.value("type", std::string()) == "network";
    });
    if (network == spaces->end()) {
      return; // the host's network
    }
    const std::string joined = network->value("path", std::string());
    b.makes_netns = joined.empty() || b.sandbox; // a pod's sandbox pins its own
    // The init process's namespace when it runs (the pinned file the config names may be a bare
    // mount point under a host tree mounted without propagation), else the file it joined.
    fs::path link;
    if (pid != 0) {
      link = m_proc / std::to_string(pid) / "ns/net";
    } else if (!joined.empty()) {
      link = host_path(m_root, m_proc, joined);
    } else {
      return; // not started, or stopped: no namespace now
    }
    int err = 0;
    if (const auto inode = namespace_inode(link, err)) {
      b.netns = *inode;
    } else if (err != ENOENT && err != ESRCH) {
      unreadable(link, errno_text(err));
    }
  }

  fs::path m_root;
  fs::path m_proc;
  OciBundles& m_out;
};

// When the runtime sets it again, and where to change it.
std::string effect_of(const OciBundle& b)
{
  if (!b.container.pod.empty() && b.makes_netns) {
    return "the runtime sets it when it makes the pod's sandbox again (the pod re-created, the node "
           "rebooted), so a value changed here lasts only until then; the pod's securityContext.sysctls "
           "is where to change it";
  }
  if (!b.makes_netns) {
    return "the runtime writes it into this namespace each time that container starts, undoing a change "
           "made here; that container's configuration is where to change it";
  }
  if (b.runtime == "docker") {
    return "Docker sets it when the container starts again (in a new namespace), so a value changed here "
           "lasts only until then; its `docker run --sysctl` (compose: sysctls) is where to change it";
  }
  return "the runtime sets it when the container starts again (in a new namespace), so a value changed "
         "here lasts only until then; the container's configuration is where to change it";
}

} // namespace

OciBundles read_oci_bundles(const fs::path& root, const fs::path& proc)
{
  OciBundles out;
  BundleReader(root, proc, out).read_all();
  return out;
}

NamespaceBootFacts namespace_boot_facts(const OciBundles& all,
                                        std::uint64_t netns,
                                        const std::vector<std::string>& keys)
{
  NamespaceBootFacts out;
  out.unreadable = all.unreadable;
  if (netns == 0) {
    return out;
  }
  for (const auto& b : all.bundles) {
    if (b.netns != netns) {
      continue;
    }
    out.containers.push_back(b.container);
    for (const auto& [key, value] : b.sysctls) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        continue;
      }
      TunerClaim c;
      c.owner = b.container.owner;
      c.key = key;
      c.value = value;
      c.source = b.container.config + " linux.sysctl";
      c.running = b.container.running;
      c.overrides_sysctld = true;
      c.effect = effect_of(b);
      out.tuners.push_back(std::move(c));
    }
  }
  return out;
}

} // namespace tw
