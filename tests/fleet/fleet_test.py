#!/usr/bin/env python3
"""The fleet test: Ansible drives tw-advisor on five hosts over SSH, for real.

Each host is a network namespace with its own sshd on its own address in 198.19.8.0/24
(inside 198.18.0.0/15), its own --root (a temp tree with etc/sysctl.d and etc/machine-id),
its own --state-dir and host id. The control node (ansible-playbook) runs in a namespace
of its own, a "switch" namespace holds the bridge, and a "server" namespace runs the
traffic sink. sshd inside a namespace sees that namespace's /proc/sys/net, so tw-advisor
run over SSH reads and writes that host's sysctls only. Nothing here touches the root
namespace's network or the machine's /etc; everything is removed on exit, also on failure.

Flow (the commands are the ones doc/fleet.md shows):
  install -> precheck (plan on every host; a broken host fails clearly) -> validate
  (template + check; a bad file is refused and not installed) -> canary with a host whose
  watch trips (rolled back, rollout halted, only the cohort changed) -> canary again ->
  promote in serial batches (a failing batch stops the rest; then every host) -> rollback
  (every host exactly as before: runtime sysctls and the whole --root tree).

Exit 0 pass, 1 fail, 77 skipped (only when TW_ADVISOR_REQUIRE_NETNS is unset).
Environment: TW_ADVISOR_BIN, TW_LOADGEN_BIN, TW_SOURCE_DIR (set by ctest).
"""

import hashlib
import json
import os
import secrets
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

k_skip = 77
k_budget_s = 840  # the whole run, below the ctest TIMEOUT
k_subnet = "198.19.8"
k_ctl_addr = f"{k_subnet}.1"
k_srv_addr = f"{k_subnet}.2"
# tw-loadgen servers: outbound TIME_WAIT on the hosts. Each round of make_time_wait connects to
# the next port, so it makes fresh TIME_WAIT even while an earlier round's still holds every
# source port towards another port (a connect()-owned port serves any other 4-tuple); otherwise
# a later round could add nothing and its evidence expire during a slow playbook.
k_sink_ports = (8080, 8082, 8083, 8084, 8085, 8086)
k_closed_port = 8081  # nothing listens: connects are refused (AttemptFails)
k_port_range = "40000 40499"  # narrow: ~500 connects exhaust it (TESTING.md rule 6)
k_tw_count = 450
# Host ids: fixed, so the cohort at k_canary_percent is known and mixed (some in, some out).
# host "h5" has no --host-id: it uses etc/machine-id under its root, as production does.
k_hosts = [
    ("h1", "fleet-host-1"),
    ("h2", "fleet-host-2"),
    ("h3", "fleet-host-3"),
    ("h4", "fleet-host-4"),
    ("h5", None),
]
k_machine_id_h5 = "5f1e7a2c9b3d4e6f8a0b1c2d3e4f5a6b"
k_canary_percent = 50
k_canary_watch = "8s"


class Failure(Exception):
    """An assertion of the test did not hold."""


class Timeout(Exception):
    """The whole run went over its budget."""


def log(msg):
    print(f"fleet: {msg}", flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(argv, timeout=60, check_rc=True, env=None, input_text=None):
    """Runs argv, returns CompletedProcess; raises Failure naming the command on error."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                             input=input_text)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout}s: {' '.join(map(str, argv))}")
    if check_rc and res.returncode != 0:
        raise Failure(f"exit {res.returncode}: {' '.join(map(str, argv))}\n"
                      f"stdout:\n{res.stdout[-3000:]}\nstderr:\n{res.stderr[-3000:]}")
    return res


def canary_bucket(host_id):
    """The cohort rule documented for `apply --canary` (src/apply/canary.hpp), re-derived here."""
    digest = hashlib.sha256(("tw-advisor-canary:" + host_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def canary_selected(host_id, percent):
    return canary_bucket(host_id) < min(10000, max(0, int(percent * 100)))


class Fleet:
    """The namespaces, sshds and temp trees of one run; cleanup() undoes all of it."""

    def __init__(self, tw_bin, loadgen_bin, source_dir):
        self.tw_bin = tw_bin
        self.loadgen_bin = loadgen_bin
        self.source_dir = source_dir
        self.rid = secrets.token_hex(3)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tw-fleet-{self.rid}-"))
        os.chmod(self.tmp, 0o700)
        self.ns_sw = f"twf{self.rid}-sw"
        self.ns_ctl = f"twf{self.rid}-ctl"
        self.ns_srv = f"twf{self.rid}-srv"
        self.namespaces = []
        self.procs = []
        self.sink_round = 0
        self.hosts = {}
        for i, (name, host_id) in enumerate(k_hosts):
            d = self.tmp / name
            self.hosts[name] = {
                "name": name,
                "ns": f"twf{self.rid}-{name}",
                "addr": f"{k_subnet}.{11 + i}",
                "dir": d,
                "root": d / "root",
                "state": d / "state",
                "bin": d / "bin" / "tw-advisor",
                "host_id": host_id,
                "effective_id": host_id if host_id else k_machine_id_h5,
            }
        self.reports = self.tmp / "reports"
        self.ansible_dir = Path(source_dir) / "packaging" / "ansible"

    # ---- namespaces and links -------------------------------------------------------------
    def add_ns(self, ns):
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def ns_run(self, ns, argv, **kw):
        return run(["ip", "netns", "exec", ns] + argv, **kw)

    def attach(self, ns, port, addr):
        """A veth from ns (eth0, addr/24) to the switch's bridge (port)."""
        run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port,
             "netns", self.ns_sw])
        run(["ip", "-n", self.ns_sw, "link", "set", port, "master", "br0", "up"])
        run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def build_network(self):
        for ns in [self.ns_sw, self.ns_ctl, self.ns_srv] + [h["ns"] for h in self.hosts.values()]:
            self.add_ns(ns)
        run(["ip", "-n", self.ns_sw, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", self.ns_sw, "link", "set", "br0", "up"])
        self.attach(self.ns_ctl, "pctl", k_ctl_addr)
        self.attach(self.ns_srv, "psrv", k_srv_addr)
        for h in self.hosts.values():
            self.attach(h["ns"], f"p{h['name']}", h["addr"])

    # ---- hosts: roots, keys, sshd --------------------------------------------------------
    def make_roots(self):
        for h in self.hosts.values():
            root = h["root"]
            (root / "etc" / "sysctl.d").mkdir(parents=True)
            (root / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
            (root / "etc" / "machine-id").write_text(
                (k_machine_id_h5 if h["host_id"] is None else hashlib.md5(
                    h["host_id"].encode()).hexdigest()) + "\n")
            (root / "etc" / "sysctl.d" / "10-fleet-base.conf").write_text(
                "# the host's own configuration before the rollout\n"
                "net.ipv4.tcp_timestamps = 1\n")
            (root / "usr" / "lib" / "sysctl.d" / "50-default.conf").write_text(
                "net.ipv4.tcp_syncookies = 1\n")
            h["state"].mkdir(mode=0o700)
            h["bin"].parent.mkdir(parents=True)
        # h4's own policy: stricter on failing connects than the default (5/s), so the few
        # refused connects it makes during its watch (about 4/s) trip it.
        self.strict_policy = self.hosts["h4"]["dir"] / "strict-policy.yaml"
        self.strict_policy.write_text(
            "id: fleet-strict\n"
            "description: Roll back on any sustained rise of failing connects.\n"
            "rationale: The fleet test's canary that must trip.\n"
            "watch:\n"
            "  rules:\n"
            "    - id: attempt-fails-strict\n"
            "      counter: Tcp.AttemptFails\n"
            "      max_rise_per_second: 1\n"
            "      description: Failed connection attempts.\n"
            "      rationale: One failing connect per second more than before is already suspect here.\n")

    def make_keys(self):
        keys = self.tmp / "keys"
        keys.mkdir(mode=0o700)
        self.client_key = keys / "id_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"tw-fleet-{self.rid}", "-f",
             str(self.client_key)])
        self.known_hosts = keys / "known_hosts"
        lines = []
        for h in self.hosts.values():
            hk = h["dir"] / "ssh_host_ed25519_key"
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", h["name"], "-f", str(hk)])
            pub = (h["dir"] / "ssh_host_ed25519_key.pub").read_text().split()
            lines.append(f"{h['addr']} {pub[0]} {pub[1]}")
            (h["dir"] / "authorized_keys").write_text(
                (self.client_key.with_suffix(".pub")).read_text())
            (h["dir"] / "sshd_config").write_text(
                f"HostKey {hk}\n"
                f"AuthorizedKeysFile {h['dir'] / 'authorized_keys'}\n"
                "Port 22\n"
                "PidFile none\n"
                "PermitRootLogin prohibit-password\n"
                "PubkeyAuthentication yes\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "UsePAM no\n"
                # The keys live in the run's temp dir, not in a home directory.
                "StrictModes no\n"
                "PrintMotd no\n"
                "MaxStartups 50\n"
                "MaxSessions 50\n"
                "Subsystem sftp /usr/lib/openssh/sftp-server\n")
        self.known_hosts.write_text("\n".join(lines) + "\n")

    def start_bg(self, argv, log_name):
        out = open(self.tmp / log_name, "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def start_sshds(self):
        for h in self.hosts.values():
            # A private mount namespace with an empty /run: sshd's privilege separation dir
            # (/run/sshd) exists there without creating anything on the machine itself. root's
            # home there is an empty directory of the run: a simulated host does not run this
            # machine's dotfiles (a .bashrc whose `pyenv init` waits a minute on a stale lock made
            # every ssh command hang), and Ansible's ~/.ansible stays in the temp dir.
            home = h["dir"] / "home"
            home.mkdir(mode=0o700, exist_ok=True)
            script = ("mount -t tmpfs -o mode=0755 tw-fleet /run && mkdir -m 0755 /run/sshd && "
                      f"mount --bind {home} /root && "
                      f"exec /usr/sbin/sshd -D -e -f {h['dir'] / 'sshd_config'} "
                      f"-o ListenAddress={h['addr']}")
            h["sshd"] = self.start_bg(["ip", "netns", "exec", h["ns"], "unshare", "--mount",
                                       "--propagation", "private", "sh", "-c", script],
                                      f"sshd-{h['name']}.log")
        # A slow first handshake on a loaded machine is retried, not fatal: one attempt that
        # hangs past its own timeout is one failed attempt, the deadline is what counts.
        deadline = time.monotonic() + 45
        for h in self.hosts.values():
            log = self.tmp / ("sshd-" + h["name"] + ".log")
            while True:
                try:
                    res = self.ssh(h, ["true"], check_rc=False, timeout=10)
                    if res.returncode == 0:
                        break
                    why = res.stderr
                except Failure as e:
                    why = str(e)
                check(h["sshd"].poll() is None, f"sshd of {h['name']} exited: {log.read_text()}")
                check(time.monotonic() < deadline,
                      f"sshd of {h['name']} at {h['addr']} not reachable: {why}\n"
                      f"sshd log:\n{log.read_text()[-2000:]}")
                time.sleep(0.3)

    def ssh(self, h, argv, check_rc=True, timeout=30):
        return self.ns_run(self.ns_ctl, [
            "ssh", "-i", str(self.client_key), "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            f"root@{h['addr']}"] + argv, check_rc=check_rc, timeout=timeout)

    # ---- workload -----------------------------------------------------------------------
    def start_sink(self):
        for port in k_sink_ports:
            log_name = f"sink-{port}.log"
            p = self.start_bg(["ip", "netns", "exec", self.ns_srv, self.loadgen_bin, "server", "--bind",
                               k_srv_addr, "--port", str(port), "--timeout-ms",
                               str(k_budget_s * 1000)], log_name)
            deadline = time.monotonic() + 10
            while "ready" not in (self.tmp / log_name).read_text():
                check(p.poll() is None,
                      f"tw-loadgen server on {port} exited: {(self.tmp / log_name).read_text()}")
                check(time.monotonic() < deadline, f"tw-loadgen server on {port} not ready within 10 s")
                time.sleep(0.1)

    def set_host_sysctls(self):
        """The 'before' of every host: reuse off and a narrow port range (per namespace)."""
        for h in self.hosts.values():
            self.ns_run(h["ns"], ["sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=0",
                                  f"net.ipv4.ip_local_port_range={k_port_range}"])

    def make_time_wait(self, hosts=None):
        """Outbound TIME_WAIT on each host (client closes first), right before it is needed."""
        hosts = hosts or list(self.hosts.values())
        check(self.sink_round < len(k_sink_ports), "fixture: more TIME_WAIT rounds than sink ports")
        port = k_sink_ports[self.sink_round]
        self.sink_round += 1
        procs = []
        for h in hosts:
            procs.append((h, subprocess.Popen(
                ["ip", "netns", "exec", h["ns"], self.loadgen_bin, "client", "--connect", k_srv_addr,
                 "--port", str(port), "--count", str(k_tw_count), "--close-first",
                 "--timeout-ms", "20000", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)))
        for h, p in procs:
            out, err = p.communicate(timeout=40)
            check(p.returncode == 0, f"tw-loadgen client on {h['name']}: exit {p.returncode}: {err}")
            res = json.loads(out.strip().splitlines()[-1])
            check(res["ok"] + res["eaddrnotavail"] > 0, f"no connects on {h['name']}: {res}")

    def start_failing_connects(self, h, seconds):
        """Refused connects on h for about `seconds`, from the moment apply has written
        tcp_tw_reuse (so after its baseline, inside its watch): AttemptFails rises then."""
        loop = ("i=0; while [ $i -lt 600 ] && [ \"$(cat /proc/sys/net/ipv4/tcp_tw_reuse)\" = 0 ]; do "
                "sleep 0.1; i=$((i+1)); done; echo changed after $i; "
                f"i=0; while [ $i -lt {seconds * 4} ]; do "
                f"{self.loadgen_bin} client --connect {k_srv_addr} --port {k_closed_port} "
                "--count 1 --timeout-ms 2000 >/dev/null; i=$((i+1)); sleep 0.25; done")
        return self.start_bg(["ip", "netns", "exec", h["ns"], "sh", "-c", loop],
                             f"failing-{h['name']}.log")

    # ---- observation --------------------------------------------------------------------
    def runtime(self, h):
        """Every net.ipv4 TCP and port sysctl of the host's namespace."""
        res = self.ns_run(h["ns"], ["sh", "-c", "cd /proc/sys/net/ipv4 && grep -H '' tcp_* "
                                    "ip_local_port_range ip_local_reserved_ports"])
        values = {}
        for line in res.stdout.splitlines():
            key, _, value = line.partition(":")
            values[key] = value
        return values

    def tree(self, h):
        """Every file, directory and link under the host's --root, with mode and content."""
        entries = {}
        root = h["root"]
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = p.lstat()
                rel = str(p.relative_to(root))
                if p.is_symlink():
                    entries[rel] = ("link", os.readlink(p))
                elif p.is_dir():
                    entries[rel] = ("dir", oct(st.st_mode))
                else:
                    entries[rel] = ("file", oct(st.st_mode), p.read_bytes().decode(errors="replace"))
        return entries

    def snapshot(self):
        return {name: {"runtime": self.runtime(h), "tree": self.tree(h)}
                for name, h in self.hosts.items()}

    # ---- ansible ------------------------------------------------------------------------
    def write_inventory(self, extra_host_vars=None, name="inventory.yml"):
        """A YAML inventory (written as JSON, a subset of YAML) with every host's own vars."""
        extra_host_vars = extra_host_vars or {}
        hosts = {}
        for h in self.hosts.values():
            hv = {
                "ansible_host": h["addr"],
                "tw_root": str(h["root"]),
                "tw_state_dir": str(h["state"]),
                "tw_advisor_bin": str(h["bin"]),
            }
            if h["host_id"]:
                hv["tw_host_id"] = h["host_id"]
            if h["name"] == "h4":
                hv["tw_advisor_policy"] = str(self.strict_policy)
            hv.update(extra_host_vars.get(h["name"], {}))
            hosts[h["name"]] = hv
        inventory = {"all": {"children": {"fleet": {
            "hosts": hosts,
            "vars": {
                "ansible_user": "root",
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_ssh_private_key_file": str(self.client_key),
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} "
                                           "-o StrictHostKeyChecking=yes -o ConnectTimeout=5",
                "tw_report_dir": str(self.reports),
            }}}}}
        path = self.tmp / name
        path.write_text(json.dumps(inventory, indent=2) + "\n")
        return path

    def ansible_env(self):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_CONFIG": str(self.ansible_dir / "ansible.cfg"),
            "ANSIBLE_LOCAL_TEMP": str(self.tmp / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(self.tmp / "ansible-remote"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.tmp / "ansible-cp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "HOME": str(self.tmp),
        })
        return env

    def playbook(self, playbook, inventory, extra=(), expect_rc=0, timeout=240):
        """Runs ansible-playbook in the control namespace, from packaging/ansible."""
        argv = ["ip", "netns", "exec", self.ns_ctl, "ansible-playbook", "-i", str(inventory),
                str(self.ansible_dir / playbook)] + list(extra)
        log("$ ansible-playbook -i inventory.yml " + shlex.join([playbook] + list(extra)))
        t0 = time.monotonic()
        res = run(argv, timeout=timeout, check_rc=False, env=self.ansible_env())
        (self.tmp / f"ansible-{playbook}-{int(t0)}.log").write_text(res.stdout + res.stderr)
        log(f"  exit {res.returncode} in {time.monotonic() - t0:.1f}s")
        ok = res.returncode == expect_rc if isinstance(expect_rc, int) else res.returncode in expect_rc
        if not ok:
            raise Failure(f"ansible-playbook {playbook}: exit {res.returncode}, expected {expect_rc}\n"
                          f"{res.stdout[-6000:]}\n{res.stderr[-3000:]}")
        return res

    def report(self, host, step):
        p = self.reports / f"{host}-{step}.json"
        check(p.exists(), f"no report {p.name}: the playbook did not record {host}'s {step}")
        return json.loads(p.read_text())

    def clear_reports(self):
        shutil.rmtree(self.reports, ignore_errors=True)
        self.reports.mkdir()

    # ---- cleanup ------------------------------------------------------------------------
    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        # Whatever still runs in our namespaces (ssh sessions, ansible's ssh masters) is ours.
        for ns in self.namespaces:
            res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in res.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in reversed(self.namespaces):
            for _ in range(20):
                if subprocess.run(["ip", "netns", "del", ns], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
        if os.environ.get("TW_FLEET_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")


def changed(before, after):
    """The keys and paths that differ between two snapshots of one host."""
    keys = sorted(k for k in set(before["runtime"]) | set(after["runtime"])
                  if before["runtime"].get(k) != after["runtime"].get(k))
    paths = sorted(p for p in set(before["tree"]) | set(after["tree"])
                   if before["tree"].get(p) != after["tree"].get(p))
    return keys + paths


def step_precheck(fleet, inventory):
    """2. precheck: every host's plan, summarised in one task; outbound TIME_WAIT on a narrow
    range with tw_reuse=0 is the case where reuse helps."""
    names = list(fleet.hosts)
    fleet.make_time_wait()
    res = fleet.playbook("precheck.yml", inventory)
    for name in names:
        rep = fleet.report(name, "plan")
        check(rep["rc"] == 0, f"{name}: plan exit {rep['rc']}: {rep['stderr']}")
        plan = rep["plan"]
        check(plan["verdict"] == "helps", f"{name}: plan verdict {plan['verdict']}, expected helps: "
              f"{plan.get('reasons')}")
        keys = [c["key"] for c in plan["changes"]]
        check("net.ipv4.tcp_tw_reuse" in keys, f"{name}: plan proposes no tcp_tw_reuse change: {keys}")
        check(f"{name}: verdict=helps" in res.stdout, f"the summary task does not show {name}'s verdict")
    check("5 host(s): helps=5" in res.stdout, "the summary task does not count the verdicts")
    # A host whose plan errors fails the pre-check by name; the others are still summarised.
    broken = fleet.write_inventory({"h3": {"tw_advisor_policy": "/nonexistent/policy.yaml"}},
                                   "inventory-broken.yml")
    fleet.clear_reports()
    res = fleet.playbook("precheck.yml", broken, expect_rc=2)
    check("tw-advisor plan failed on h3" in res.stdout and "/nonexistent/policy.yaml" in res.stdout,
          "precheck did not name the failing host h3 and its missing policy")
    check("h1: verdict=helps" in res.stdout, "precheck did not summarise the other hosts")


def step_validate(fleet, inventory):
    """3. validate: a sysctl.d template lands only when `check` accepts it on that host."""
    hosts = fleet.hosts
    good = json.dumps({"tw_sysctld_name": "60-fleet-timestamps.conf",
                       "tw_sysctld_settings": {"net.ipv4.tcp_timestamps": 1}})
    fleet.playbook("validate.yml", inventory, ["-e", good])
    for h in hosts.values():
        f = h["root"] / "etc/sysctl.d/60-fleet-timestamps.conf"
        check(f.exists() and "net.ipv4.tcp_timestamps = 1" in f.read_text(),
              f"{h['name']}: validated template not installed at {f}")
    bad = json.dumps({"tw_sysctld_name": "61-fleet-recycle.conf",
                      "tw_sysctld_settings": {"net.ipv4.tcp_tw_recycle": 1}})
    res = fleet.playbook("validate.yml", inventory, ["-e", bad], expect_rc=2)
    for h in hosts.values():
        f = h["root"] / "etc/sysctl.d/61-fleet-recycle.conf"
        check(not f.exists(), f"{h['name']}: check did not stop {f}")
    check("failed to validate" in res.stdout and "tcp_tw_recycle" in res.stdout,
          "the refused template is not reported as failed validation naming tcp_tw_recycle")


def run_flow(fleet):
    t0 = time.monotonic()
    log(f"run {fleet.rid}: temp dir {fleet.tmp}")
    fleet.build_network()
    fleet.make_roots()
    fleet.make_keys()
    fleet.start_sshds()
    log("5 hosts up: " + ", ".join(f"{h['name']}={h['addr']}" for h in fleet.hosts.values()))
    fleet.start_sink()
    fleet.set_host_sysctls()
    fleet.clear_reports()
    inventory = fleet.write_inventory()
    hosts = fleet.hosts
    names = list(hosts)

    # 1. install: the role copies the binary to each host's own path and runs it there.
    fleet.playbook("install.yml", inventory, ["-e", f"tw_advisor_binary={fleet.tw_bin}",
                                              "-e", f"tw_advisor_data_src={fleet.source_dir}"])
    for h in hosts.values():
        check(h["bin"].exists(), f"install did not put the binary at {h['bin']}")
        data = h["dir"] / "share" / "tw-advisor"
        check((data / "policies" / "default.yaml").exists() and (data / "profiles").is_dir(),
              f"install did not put profiles/ and policies/ in {data}")
        out = fleet.ssh(h, [str(h["bin"]), "--version"]).stdout
        check(out.startswith("tw-advisor "), f"{h['name']}: --version printed {out!r}")

    step_precheck(fleet, inventory)
    step_validate(fleet, inventory)

    before = fleet.snapshot()
    cohort = {n for n in names if canary_selected(hosts[n]["effective_id"], k_canary_percent)}
    check(0 < len(cohort) < len(names) and "h4" in cohort,
          f"fixture: the cohort at {k_canary_percent}% should be mixed and hold h4: {sorted(cohort)}")
    log(f"cohort at {k_canary_percent}%: {sorted(cohort)}")

    # 3b. check mode: the canary playbook with --check applies nothing and says, per host, what
    # the plan would change (the role reads `plan --format json`); --diff shows the generated
    # sysctl.d file before and after.
    fleet.clear_reports()
    fleet.make_time_wait()
    res = fleet.playbook("canary.yml", inventory,
                         ["--check", "--diff", "-e", f"tw_canary_percent={k_canary_percent}"])
    dry = fleet.snapshot()
    for name in names:
        check(changed(before[name], dry[name]) == [], f"{name}: changed in check mode: "
              f"{changed(before[name], dry[name])}")
        rep = fleet.report(name, "would-change")
        check(rep["plan"]["kind"] == "plan" and rep["plan"]["verdict"] == "helps",
              f"{name}: check mode did not report the plan: {rep}")
        keys = [c["key"] for c in rep["plan"]["changes"]]
        check("net.ipv4.tcp_tw_reuse" in keys, f"{name}: check mode shows no tw_reuse change: {keys}")
        check(f"{name}: helps, would change " in res.stdout and "net.ipv4.tcp_tw_reuse 0 1" in res.stdout,
              f"check mode did not show {name}'s change")
        check(not (fleet.reports / f"{name}-canary.json").exists(), f"{name}: a canary ran in check mode")
        persist = rep["plan"].get("persist", {})
        check(persist.get("file") == "/etc/sysctl.d/90-tw-advisor.conf"
              and "net.ipv4.tcp_tw_reuse = 1" in persist.get("new", []),
              f"{name}: the plan does not say what the sysctl.d file would hold: {persist}")
    # The diff is the file's lines: tw_reuse added, under the file's name.
    check("+++ after: /etc/sysctl.d/90-tw-advisor.conf" in res.stdout and "+net.ipv4.tcp_tw_reuse = 1" in res.stdout,
          f"--diff did not show the generated file:\n{res.stdout[-3000:]}")
    log("check mode: nothing applied, every host's would-be change and file diff reported")

    # 4. rollout with a canary whose watch trips: h4 gets refused connects during its watch.
    fleet.clear_reports()
    fleet.make_time_wait()
    failing = fleet.start_failing_connects(hosts["h4"], 20)
    try:
        res = fleet.playbook("rollout.yml", inventory,
                             ["-e", f"tw_canary_percent={k_canary_percent}",
                              "-e", f"tw_canary_watch={k_canary_watch}"], expect_rc=2)
        failing.wait(timeout=60)
    finally:
        if failing.poll() is None:
            failing.terminate()
            failing.wait(timeout=10)
    log("h4 failing connects: " + (fleet.tmp / "failing-h4.log").read_text().strip())
    after = fleet.snapshot()
    check("Rollout stopped" in res.stdout and "h4" in res.stdout,
          "the rollout did not stop naming h4")
    tool_cohort = set()
    for name in names:
        rep = fleet.report(name, "canary")
        check(rep["rc"] in (0, 3), f"{name}: canary exit {rep['rc']}: {rep['stderr']}")
        if rep["outcome"] in ("applied", "rolled-back-by-watch"):
            tool_cohort.add(name)
        else:
            check(rep["outcome"] == "not-selected", f"{name}: canary outcome {rep['outcome']}: {rep['result']}")
        check(not (fleet.reports / f"{name}-promote.json").exists(),
              f"{name}: promotion ran although a canary was rolled back")
    check(tool_cohort == cohort, f"tw-advisor's cohort {sorted(tool_cohort)} != the stable hash's {sorted(cohort)}")
    rep = fleet.report("h4", "canary")
    check(rep["rc"] == 3, f"h4's watch did not trip (exit 3 expected): {rep['result']} {rep['stderr']}")
    check("attempt-fails-strict" in rep["reason"] and "attempt-fails-strict" in res.stdout,
          f"h4's rollback reason does not name its policy's rule: {rep['reason']}")
    check(changed(before["h4"], after["h4"]) == [],
          f"h4 not restored after its watch rolled back: {changed(before['h4'], after['h4'])}")
    for name in names:
        diff = changed(before[name], after[name])
        if name in cohort and name != "h4":
            check(fleet.report(name, "canary")["rc"] == 0, f"{name}: canary exit not 0")
            check(after[name]["runtime"]["tcp_tw_reuse"] != "0",
                  f"{name}: in the cohort but tcp_tw_reuse still 0")
            check(any(p.startswith("etc/sysctl.d/") for p in diff), f"{name}: nothing persisted: {diff}")
        elif name not in cohort:
            check(diff == [], f"{name}: not in the cohort but changed: {diff}")
    log("canary: only the cohort changed; h4 tripped, rolled back, and stopped the rollout")

    # 5. the canary again, healthy this time: the whole cohort holds the change.
    fleet.clear_reports()
    fleet.make_time_wait()
    fleet.playbook("canary.yml", inventory, ["-e", f"tw_canary_percent={k_canary_percent}",
                                             "-e", f"tw_canary_watch={k_canary_watch}"])
    after = fleet.snapshot()
    for name in names:
        outcome = fleet.report(name, "canary")["outcome"]
        expected = "applied" if name == "h4" else "nothing-to-do" if name in cohort else "not-selected"
        check(outcome == expected, f"{name}: canary again: {outcome}, expected {expected}")
        if name in cohort:
            check(after[name]["runtime"]["tcp_tw_reuse"] != "0", f"{name}: canary again: not applied")
            check(any(p.startswith("etc/sysctl.d/") for p in changed(before[name], after[name])),
                  f"{name}: canary again: nothing persisted")
        else:
            check(changed(before[name], after[name]) == [], f"{name}: not in the cohort but changed")

    # 6. promotion in batches of 2: a host that fails in the first batch stops the rest.
    # Batches follow inventory order: [h1 h2] [h3 h4] [h5]. h1 is outside the cohort.
    fleet.clear_reports()
    fleet.make_time_wait()
    broken = fleet.write_inventory({"h1": {"tw_advisor_policy": "/nonexistent/policy.yaml"}},
                                   "inventory-broken.yml")
    res = fleet.playbook("promote.yml", broken, ["-e", "tw_promote_serial=2"], expect_rc=2)
    rep = fleet.report("h1", "promote")
    check(rep["rc"] == 1 and "/nonexistent/policy.yaml" in rep["stderr"],
          f"h1's apply with a missing policy did not fail on it: exit {rep['rc']}: {rep['stderr']}")
    check("tw-advisor apply failed on h1" in res.stdout, "promote did not name the failing host h1")
    for name in ["h3", "h5"]:
        check(not (fleet.reports / f"{name}-promote.json").exists(),
              f"{name}: a later batch ran although the first batch failed")
    mid = fleet.snapshot()
    for name in ["h1", "h3"]:
        check(changed(before[name], mid[name]) == [], f"{name}: changed although promotion stopped")

    # 7. promotion reaches every host.
    fleet.clear_reports()
    fleet.make_time_wait()
    fleet.playbook("promote.yml", inventory, ["-e", "tw_promote_serial=2"])
    promoted = fleet.snapshot()
    for name in names:
        rep = fleet.report(name, "promote")
        check(rep["rc"] == 0, f"{name}: promotion exit {rep['rc']}: {rep['stderr']}")
        check(promoted[name]["runtime"]["tcp_tw_reuse"] != "0",
              f"{name}: promotion did not apply: {rep['result']}")
        check(any(p.startswith("etc/sysctl.d/") for p in changed(before[name], promoted[name])),
              f"{name}: promotion persisted nothing")
    log("promotion reached every host")

    # 8. rollback: every host exactly as before the rollout, runtime and the whole --root tree.
    fleet.clear_reports()
    fleet.playbook("rollback.yml", inventory)
    restored = fleet.snapshot()
    for name in names:
        check(fleet.report(name, "rollback")["rc"] == 0, f"{name}: rollback exit not 0")
        diff = changed(before[name], restored[name])
        check(diff == [], f"{name}: rollback left differences: {diff}")
    log("rollback restored every host exactly")
    log(f"whole flow: {time.monotonic() - t0:.0f} s")


def prerequisites():
    missing = []
    if os.geteuid() != 0:
        missing.append("not root")
    for tool in ["ip", "ansible-playbook", "ssh", "ssh-keygen", "unshare", "sysctl"]:
        if shutil.which(tool) is None:
            missing.append(f"no {tool}")
    if not os.access("/usr/sbin/sshd", os.X_OK):
        missing.append("no /usr/sbin/sshd (openssh-server)")
    return missing


def main():
    # The binaries come from the build (ctest sets both): without them the setup is wrong,
    # which is a failure, never a skip.
    for var in ["TW_ADVISOR_BIN", "TW_LOADGEN_BIN"]:
        if not os.environ.get(var) or not os.access(os.environ[var], os.X_OK):
            print(f"fleet: FAIL: {var} unset or not executable: {os.environ.get(var)!r}")
            return 1
    missing = prerequisites()
    if missing:
        if os.environ.get("TW_ADVISOR_REQUIRE_NETNS") == "1":
            print(f"fleet: FAIL: cannot run with TW_ADVISOR_REQUIRE_NETNS=1: {', '.join(missing)}")
            return 1
        print(f"fleet: SKIP: {', '.join(missing)}")
        return k_skip

    source_dir = os.environ.get("TW_SOURCE_DIR") or str(Path(__file__).resolve().parents[2])
    fleet = Fleet(os.environ["TW_ADVISOR_BIN"], os.environ["TW_LOADGEN_BIN"], source_dir)

    def on_alarm(_sig, _frame):
        raise Timeout(f"the run went over its {k_budget_s} s budget")

    def on_term(_sig, _frame):
        raise Failure("terminated")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(k_budget_s)
    try:
        run_flow(fleet)
        log("PASS")
        return 0
    except (Failure, Timeout) as e:
        log(f"FAIL: {e}")
        return 1
    except Exception:  # an unexpected error is a failure too, with its traceback
        log("FAIL: unexpected error:\n" + traceback.format_exc())
        return 1
    finally:
        signal.alarm(0)
        fleet.cleanup()


if __name__ == "__main__":
    sys.exit(main())
