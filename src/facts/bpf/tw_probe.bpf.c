/* tw-advisor's evidence probe: what happens to connect() and bind() and to TIME_WAIT tuples.
 * No fentry/fexit (refused on kernels we run) and no kprobes (absent). Two sets of hooks count
 * connect() and bind(); the loader (facts/probe.cpp) enables one:
 *  - socket hooks (the default): sock:inet_sock_set_state sees a connect() start its port search
 *    (CLOSE -> SYN_SENT, in the caller's context) and end (SYN_SENT -> ESTABLISHED or CLOSE, with
 *    sk_err, and the time its SYN was stamped: the connect() time); cgroup bind4/bind6 see
 *    bind(port 0) begin, post_bind4/6 its success, and tcp:tcp_destroy_sock or the socket's next
 *    bind() its failure. They run only for TCP sockets. Needs a cgroup v2 hierarchy and
 *    CAP_NET_ADMIN besides CAP_BPF and CAP_PERFMON.
 *  - the system-call hook: tp_btf sys_exit reads connect()'s and bind()'s return values (64-bit
 *    system calls only). Exact errno for every connect(), but while it is attached every system
 *    call on the host takes the traced slow path (measured: bench/probe).
 * Both: sock:inet_sock_set_state for tuples entering TIME_WAIT and handshakes, with those that
 * reuse a TIME_WAIT tuple. Counted per network namespace (netns cookie), destination, process. */
#include "kernel_types.h"
#include "probe_abi.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define NR_connect 42
#define NR_bind 49
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_FIN_WAIT2 5
#define TCP_CLOSE 7
#define TS_COMPAT 0x0002 /* arch/x86/include/asm/thread_info.h */
#define TCP_CLOSING 11
#define TIME_WAIT_NS (60ULL * 1000000000ULL) /* TCP_TIMEWAIT_LEN */

/* 0: every namespace; else only sockets of the namespace with this cookie. Set before load. */
const volatile __u64 filter_netns_cookie = 0;

/* true: connect() and bind() are counted by the socket hooks, false: by the system-call hook (see
 * the top). Set before load, as the loader enables the matching programs. */
const volatile bool socket_hooks = false;

/* Which of two generations of event and latency rows the programs count into (0 or 1). A reader
 * that drains the maps (EvidenceProbe::drain) switches it through the skeleton's memory-mapped
 * .bss, waits until no program can still be running with the old one (updating the barrier map
 * below makes the kernel wait for an RCU grace period, and every program here runs inside one),
 * then reads and deletes the old generation's rows: no program holds a pointer into a row that is
 * deleted, so no increment is lost or lands in another row. collect() reads both. */
__u32 generation = 0;

/* Only for its side effect: a user space update of a map-in-map slot returns after
 * synchronize_rcu() (kernel/bpf/syscall.c, maybe_wait_bpf_programs). No program uses it. */
struct barrier_inner_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} barrier_inner SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
  __array(values, struct barrier_inner_map);
} barrier SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, TW_PROBE_MAX_EVENTS);
  __type(key, struct tw_probe_key);
  __type(value, struct tw_probe_counts);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, TW_PROBE_MAX_LATENCY);
  __type(key, struct tw_probe_latency_key);
  __type(value, struct tw_probe_latency);
} latency SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, TW_PROBE_MAX_TIME_WAIT);
  __type(key, struct tw_probe_tuple);
  __type(value, __u64);
} time_wait SEC(".maps");

/* When the current thread's connect() began its port search: tcp_v4_connect/tcp_v6_connect set
 * SYN_SENT just before inet_hash_connect. Task-local, so neither hashed nor bounded; read back at
 * sys_exit. No sys_enter program: while attached, each syscall tracepoint makes every system call
 * on the host take the slow path. */
struct connect_start {
  __u64 ns;         /* bpf_ktime_get_ns() at CLOSE -> SYN_SENT */
  const void *sk;   /* the socket it was for: sys_exit checks it is the same connect() */
};
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct connect_start);
} inflight SEC(".maps");

/* Who called connect() or bind(). */
struct owner {
  __u64 cgroup_id;
  __u32 tgid;
  char comm[16];
};

/* Socket hooks: one connect() from its port search to the end of its handshake, by socket cookie,
 * so that the end, counted in softirq context, knows who called it. A hash map, not socket
 * storage: storage is freed through an RCU grace period with every socket, which cost a connect
 * loop about 6% more (bench/probe). */
struct connect_state {
  __u64 start_ns; /* CLOSE -> SYN_SENT */
  struct tw_probe_latency_key where;
  struct owner owner;
  bool mapped;    /* an AF_INET6 socket towards a v4-mapped address */
};
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, TW_PROBE_MAX_CONNECTING);
  __type(key, __u64);
  __type(value, struct connect_state);
} connects SEC(".maps");

/* Socket hooks: a bind(port 0) whose outcome is not known yet, by socket cookie. post_bind
 * removes it (success); the socket's destruction or its next bind() counts it as failed. */
struct bind_pending {
  __u64 netns_cookie;
  __u8 addr[16];
  __u8 family;
  bool mapped;
  struct owner owner;
};
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, TW_PROBE_MAX_BINDING);
  __type(key, __u64);
  __type(value, struct bind_pending);
} binding SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, TW_STAT_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

/* All zero: the first value of a new histogram (too big for the 512-byte BPF stack). */
struct tw_probe_latency zero_latency = {};

struct sockaddr_any {
  __u16 family;
  __be16 port;
  union {
    __be32 v4;
    struct {
      __u32 flowinfo;
      __u8 v6[16];
    } in6;
  };
};

static __always_inline __u8 current_generation(void)
{
  return (__u8)(*(volatile __u32 *)&generation & 1);
}

static __always_inline void count_stat(__u32 index)
{
  __u64 *v = bpf_map_lookup_elem(&stats, &index);
  if (v)
    __sync_fetch_and_add(v, 1);
}

/* The TCP socket behind fd in the current task, or NULL (not a socket, not TCP). */
static __always_inline struct sock *tcp_sock_of_fd(long fd)
{
  struct task_struct *task = bpf_get_current_task_btf();
  struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
    return 0;
  struct file **fds = BPF_CORE_READ(fdt, fd);
  struct file *file = 0;
  if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
    return 0;
  if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
    return 0;
  struct socket *sock = BPF_CORE_READ(file, private_data);
  if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
    return 0;
  struct sock *sk = BPF_CORE_READ(sock, sk);
  if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
    return 0;
  return sk;
}

static __always_inline __u64 netns_cookie_of(const struct sock *sk)
{
  return BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
}

static __always_inline bool wanted(__u64 cookie)
{
  return filter_netns_cookie == 0 || cookie == filter_netns_cookie;
}

static __always_inline bool is_v4_mapped(const __u8 *a)
{
  for (int i = 0; i < 10; i++)
    if (a[i])
      return false;
  return a[10] == 0xff && a[11] == 0xff;
}

/* Copies a sockaddr's address into the key form: IPv4 and v4-mapped IPv6 as 4 bytes, family 2.
 * Returns false for other families. *mapped tells a v4-mapped one. */
static __always_inline bool key_address(const struct sockaddr_any *sa, __u8 *addr, __u8 *family,
                                        bool *mapped)
{
  *mapped = false;
  if (sa->family == AF_INET) {
    __builtin_memcpy(addr, &sa->v4, 4);
    *family = AF_INET;
    return true;
  }
  if (sa->family == AF_INET6) {
    if (is_v4_mapped(sa->in6.v6)) {
      __builtin_memcpy(addr, &sa->in6.v6[12], 4);
      *family = AF_INET;
      *mapped = true;
    } else {
      __builtin_memcpy(addr, sa->in6.v6, 16);
      *family = AF_INET6;
    }
    return true;
  }
  return false;
}

static __always_inline void current_owner(struct owner *o)
{
  o->cgroup_id = bpf_get_current_cgroup_id();
  o->tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* The row of key, added when new; owner (NULL for handshakes) names its process. */
static __always_inline struct tw_probe_counts *row(const struct tw_probe_key *key, const struct owner *owner)
{
  struct tw_probe_counts *v = bpf_map_lookup_elem(&events, key);
  if (v)
    return v;
  struct tw_probe_counts zero = {};
  if (owner) {
    zero.cgroup_id = owner->cgroup_id;
    __builtin_memcpy(zero.comm, owner->comm, sizeof(zero.comm));
  }
  if (bpf_map_update_elem(&events, key, &zero, BPF_NOEXIST) && bpf_map_lookup_elem(&events, key) == 0) {
    count_stat(TW_STAT_DROPPED);
    return 0;
  }
  return bpf_map_lookup_elem(&events, key);
}

static __always_inline __u32 log2_u64(__u64 v)
{
  __u32 r = 0;
  if (v >> 32) { v >>= 32; r += 32; }
  if (v >> 16) { v >>= 16; r += 16; }
  if (v >> 8) { v >>= 8; r += 8; }
  if (v >> 4) { v >>= 4; r += 4; }
  if (v >> 2) { v >>= 2; r += 2; }
  if (v >> 1) { r += 1; }
  return r;
}

/* Log-linear bucket of a duration in microseconds: 0..3 exact, then 4 per power of two. */
static __always_inline __u32 latency_bucket(__u64 us)
{
  if (us < 4)
    return (__u32)us;
  __u32 e = log2_u64(us);
  __u32 b = 4 * (e - 1) + (__u32)((us >> (e - 2)) & 3);
  return b < TW_LATENCY_BUCKETS ? b : TW_LATENCY_BUCKETS - 1;
}

/* Adds one connect() time to the histogram of lk's destination, in the current generation. */
static __always_inline void record_latency(struct tw_probe_latency_key *lk, __u64 ns)
{
  lk->generation = current_generation();
  struct tw_probe_latency *h = bpf_map_lookup_elem(&latency, lk);
  if (!h) {
    bpf_map_update_elem(&latency, lk, &zero_latency, BPF_NOEXIST);
    h = bpf_map_lookup_elem(&latency, lk);
    if (!h) {
      count_stat(TW_STAT_DROPPED);
      return;
    }
  }
  __u32 b = latency_bucket(ns / 1000);
  /* the verifier needs the bound on this register; clang drops a plain mask it can prove */
  asm volatile("%0 &= 127" : "+r"(b));
  __sync_fetch_and_add(&h->buckets[b], 1);
}

static __always_inline __u32 error_slot(long err)
{
  switch (err) {
    case 110: return TW_ERR_ETIMEDOUT;
    case 111: return TW_ERR_ECONNREFUSED;
    case 101: return TW_ERR_ENETUNREACH;
    case 113: return TW_ERR_EHOSTUNREACH;
    case 104: return TW_ERR_ECONNRESET;
    case 13: return TW_ERR_EACCES;
    case 1: return TW_ERR_EPERM;
    case 4: return TW_ERR_EINTR;
    case 98: return TW_ERR_EADDRINUSE;
    default: return TW_ERR_OTHER;
  }
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tw_sys_exit, struct pt_regs *regs, long ret)
{
  long nr = (long)regs->orig_ax; /* a BTF pointer: a direct load, no helper call on every syscall */
  if (nr != NR_connect && nr != NR_bind)
    return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  /* a 32-bit system call numbers differently (42 is pipe() there): not counted */
  if (task->thread_info.status & TS_COMPAT)
    return 0;
  __u64 tid = bpf_get_current_pid_tgid();
  __u64 started = 0;
  const void *started_sk = 0;
  if (nr == NR_connect) {
    struct connect_start *s = bpf_task_storage_get(&inflight, task, 0, 0);
    if (s) {
      started = s->ns;
      started_sk = s->sk;
      s->ns = 0;
      s->sk = 0;
    }
    /* EALREADY and EISCONN answer a repeated connect() on a non-blocking socket: not attempts. */
    if (ret == -114 || ret == -106)
      return 0;
  } else if (ret != -98) {
    return 0; /* bind(): only EADDRINUSE matters */
  }
  struct sock *sk = tcp_sock_of_fd((long)BPF_CORE_READ(regs, di));
  if (!sk)
    return 0;
  __u64 cookie = netns_cookie_of(sk);
  if (!wanted(cookie))
    return 0;

  struct sockaddr_any sa = {};
  void *uaddr = (void *)BPF_CORE_READ(regs, si);
  if (bpf_probe_read_user(&sa, sizeof(sa), uaddr)) {
    /* a short sockaddr_in at the end of a mapping: read just that */
    if (bpf_probe_read_user(&sa, 8, uaddr)) {
      count_stat(TW_STAT_UNREADABLE);
      return 0;
    }
  }
  struct tw_probe_key key = {};
  bool mapped = false;
  if (!key_address(&sa, key.addr, &key.family, &mapped))
    return 0;
  key.netns_cookie = cookie;
  key.tgid = (__u32)(tid >> 32);
  key.generation = current_generation();
  struct owner owner = {};
  current_owner(&owner);

  if (nr == NR_bind) {
    if (sa.port != 0)
      return 0; /* a fixed port in use is a configuration error, not exhaustion */
    key.kind = TW_KIND_BIND;
    struct tw_probe_counts *v = row(&key, &owner);
    if (v) {
      __sync_fetch_and_add(&v->eaddrinuse, 1);
      if (mapped)
        __sync_fetch_and_add(&v->v4_mapped, 1);
    }
    return 0;
  }

  key.port = bpf_ntohs(sa.port);
  key.kind = TW_KIND_CONNECT;
  struct tw_probe_counts *v = row(&key, &owner);
  if (!v)
    return 0;
  if (ret == 0 || ret == -115)
    __sync_fetch_and_add(&v->ok, 1);
  else if (ret == -99)
    __sync_fetch_and_add(&v->eaddrnotavail, 1);
  else {
    __u32 slot = error_slot(-ret);
    if (slot < TW_ERR_SLOTS)
      __sync_fetch_and_add(&v->errors[slot], 1);
  }
  if (mapped)
    __sync_fetch_and_add(&v->v4_mapped, 1);
  if (started && started_sk == (const void *)sk) { /* a start left by sendto(MSG_FASTOPEN) is not this one */
    struct tw_probe_latency_key lk = {};
    lk.netns_cookie = key.netns_cookie;
    __builtin_memcpy(lk.addr, key.addr, 16);
    lk.port = key.port;
    lk.family = key.family;
    record_latency(&lk, bpf_ktime_get_ns() - started);
  }
  return 0;
}

/* The socket's 4-tuple in key form. Local port from inet_sport: on current kernels skc_num is
 * already 0 when a socket leaves for TIME_WAIT. Returns false for sockets not tracked. */
static __always_inline bool tuple_of(const struct sock *sk, struct tw_probe_tuple *t)
{
  /* sk is a tracepoint's BTF pointer: its fields are read directly (a load, not a helper call);
   * only fields of the larger inet_sock/tcp_sock need bpf_probe_read_kernel. */
  __u16 family = sk->__sk_common.skc_family;
  if (family == AF_INET) {
    __be32 s = sk->__sk_common.skc_rcv_saddr;
    __be32 d = sk->__sk_common.skc_daddr;
    __builtin_memcpy(t->saddr, &s, 4);
    __builtin_memcpy(t->daddr, &d, 4);
    t->family = AF_INET;
  } else if (family == AF_INET6) {
    struct in6_addr s = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
    struct in6_addr d = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
    if (is_v4_mapped(d.in6_u.u6_addr8)) {
      __builtin_memcpy(t->saddr, &s.in6_u.u6_addr8[12], 4);
      __builtin_memcpy(t->daddr, &d.in6_u.u6_addr8[12], 4);
      t->family = AF_INET;
    } else {
      __builtin_memcpy(t->saddr, s.in6_u.u6_addr8, 16);
      __builtin_memcpy(t->daddr, d.in6_u.u6_addr8, 16);
      t->family = AF_INET6;
    }
  } else {
    return false;
  }
  t->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
  t->dport = bpf_ntohs(sk->__sk_common.skc_dport);
  return true;
}

/* The destination of a tracepoint's socket in key form (addr, port, family; v4-mapped IPv6 as
 * IPv4, *mapped set): what connect_begins() needs, without tuple_of()'s local half. */
static __always_inline bool destination_of(const struct sock *sk, struct tw_probe_latency_key *where,
                                           bool *mapped)
{
  __u16 family = sk->__sk_common.skc_family;
  *mapped = false;
  if (family == AF_INET) {
    __be32 d = sk->__sk_common.skc_daddr;
    __builtin_memcpy(where->addr, &d, 4);
    where->family = AF_INET;
  } else if (family == AF_INET6) {
    struct in6_addr d = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
    if (is_v4_mapped(d.in6_u.u6_addr8)) {
      __builtin_memcpy(where->addr, &d.in6_u.u6_addr8[12], 4);
      where->family = AF_INET;
      *mapped = true;
    } else {
      __builtin_memcpy(where->addr, d.in6_u.u6_addr8, 16);
      where->family = AF_INET6;
    }
  } else {
    return false;
  }
  where->port = bpf_ntohs(sk->__sk_common.skc_dport);
  return true;
}

/* The netns cookie of a tracepoint's socket (a BTF pointer: direct loads). */
static __always_inline __u64 netns_cookie_btf(const struct sock *sk)
{
  return sk->__sk_common.skc_net.net->net_cookie;
}

/* Socket hooks: a connect() begins its port search (CLOSE -> SYN_SENT, in the caller's context). */
static __always_inline void connect_begins(const struct sock *sk)
{
  __u64 cookie = netns_cookie_btf(sk);
  if (!wanted(cookie))
    return;
  struct connect_state c = {};
  if (!destination_of(sk, &c.where, &c.mapped))
    return;
  c.start_ns = bpf_ktime_get_ns();
  c.where.netns_cookie = cookie;
  current_owner(&c.owner);
  __u64 sc = bpf_get_socket_cookie((void *)sk); /* made now if nobody asked for it before */
  if (bpf_map_update_elem(&connects, &sc, &c, BPF_ANY))
    count_stat(TW_STAT_DROPPED);
  /* A socket bound with IP_BIND_ADDRESS_NO_PORT where that flag is not readable (before Linux
   * 6.6): its bind() left a pending entry, and it succeeded. */
  if (!bpf_core_field_exists(struct inet_sock, inet_flags))
    bpf_map_delete_elem(&binding, &sc);
}

/* Socket hooks: when the connect() that began at start_ns ended its port search: now when it
 * failed before a SYN (no port: the failed search is what it spent), else when tcp_connect()
 * stamped its SYN (tcp_wstamp_ns: the tcp_clock_cache it refreshed just before, CLOCK_MONOTONIC
 * in ns like bpf_ktime_get_ns(); no later packet is sent before the handshake ends). 0 when the
 * SYN was retransmitted: the stamp is then the last retransmission's, so that connect() is not
 * timed. */
static __always_inline __u64 syn_sent_at(const struct sock *sk, bool before_syn, __u64 start_ns)
{
  if (before_syn)
    return bpf_ktime_get_ns();
  const struct tcp_sock *tp = (const struct tcp_sock *)sk;
  if (BPF_CORE_READ(tp, total_retrans) != 0)
    return 0;
  __u64 syn = BPF_CORE_READ(tp, tcp_wstamp_ns);
  return syn >= start_ns ? syn : 0;
}

/* Socket hooks: a connect() ended: established, failed before its SYN (no port: EADDRNOTAVAIL),
 * or its handshake failed (sk_err: refused, timed out, ...; 0 when its caller closed it first).
 * Returns its row, where the handshake is counted too, or NULL. */
static __always_inline struct tw_probe_counts *connect_ends(const struct sock *sk, bool ok, bool before_syn)
{
  __u64 sc = sk->__sk_common.skc_cookie.counter; /* made by connect_begins() */
  if (!sc)
    return 0;
  struct connect_state *c = bpf_map_lookup_elem(&connects, &sc);
  if (!c)
    return 0; /* begun before the probe was attached, or in a namespace not watched */
  struct tw_probe_key key = {};
  key.netns_cookie = c->where.netns_cookie;
  __builtin_memcpy(key.addr, c->where.addr, 16);
  key.port = c->where.port;
  key.family = c->where.family;
  key.kind = TW_KIND_CONNECT;
  key.tgid = c->owner.tgid;
  key.generation = current_generation();
  __u64 end = syn_sent_at(sk, before_syn, c->start_ns);
  if (end)
    record_latency(&c->where, end - c->start_ns);
  bool mapped = c->mapped;
  struct tw_probe_counts *v = row(&key, &c->owner);
  bpf_map_delete_elem(&connects, &sc); /* c is not read below */
  if (!v)
    return 0;
  if (ok) {
    __sync_fetch_and_add(&v->ok, 1);
  } else if (before_syn) {
    __sync_fetch_and_add(&v->eaddrnotavail, 1);
  } else {
    int err = sk->sk_err;
    __u32 slot = err ? error_slot(err) : TW_ERR_OTHER;
    if (slot < TW_ERR_SLOTS)
      __sync_fetch_and_add(&v->errors[slot], 1);
  }
  if (mapped)
    __sync_fetch_and_add(&v->v4_mapped, 1);
  return v;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tw_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
  /* The transitions that matter, from the arguments alone: most state changes end here. */
  bool connect_start = oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT;
  bool handshake_end = oldstate == TCP_SYN_SENT && (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE);
  bool leaving_for_time_wait = newstate == TCP_CLOSE && (oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING);
  if (!connect_start && !handshake_end && !leaving_for_time_wait)
    return 0;
  if (sk->sk_protocol != IPPROTO_TCP)
    return 0;
  if (connect_start) {
    if (socket_hooks) {
      connect_begins(sk);
      return 0;
    }
    /* inside connect(), in the caller's context: the port search starts now */
    struct connect_start *start =
      bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (start) {
      start->ns = bpf_ktime_get_ns();
      start->sk = sk;
    }
    return 0;
  }
  /* tcp_time_wait() then tcp_done(); a reset (sk_err set) closes without TIME_WAIT */
  bool entering_time_wait = leaving_for_time_wait && sk->sk_err == 0;
  if (!entering_time_wait && !handshake_end)
    return 0;
  __u64 cookie = netns_cookie_btf(sk);
  if (!wanted(cookie))
    return 0;
  struct tw_probe_tuple t = {};
  if (!tuple_of(sk, &t))
    return 0;
  t.netns_cookie = cookie;
  __u64 now = bpf_ktime_get_ns();
  if (entering_time_wait) {
    /* tcp_time_wait() then tcp_done(): the active closer's tuple now sits in TIME_WAIT */
    bpf_map_update_elem(&time_wait, &t, &now, BPF_ANY);
    count_stat(TW_STAT_TIME_WAIT_SEEN);
    return 0;
  }
  bool ok = newstate == TCP_ESTABLISHED;
  /* No SYN was sent: connect() itself failed after SYN_SENT, with no port (sport 0: the range is
   * exhausted) or a bound port whose tuple is still in TIME_WAIT and cannot be reused. A failed
   * connect(), EADDRNOTAVAIL; not a handshake, and not a recycle. */
  bool before_syn = !ok && (t.sport == 0 || BPF_CORE_READ((const struct tcp_sock *)sk, segs_out) == 0);
  struct tw_probe_counts *v = socket_hooks ? connect_ends(sk, ok, before_syn) : 0;
  if (before_syn)
    return 0;
  if (!v) { /* the system-call hook, or a connect() the socket hooks did not see begin */
    struct tw_probe_key key = {};
    key.netns_cookie = cookie;
    __builtin_memcpy(key.addr, t.daddr, 16);
    key.port = t.dport;
    key.family = t.family;
    key.kind = TW_KIND_HANDSHAKE;
    key.generation = current_generation();
    v = row(&key, 0);
    if (!v)
      return 0;
  }
  if (ok)
    __sync_fetch_and_add(&v->established, 1);
  else
    __sync_fetch_and_add(&v->failed, 1);
  __u64 *when = bpf_map_lookup_elem(&time_wait, &t);
  if (when) {
    if (now - *when < TIME_WAIT_NS) {
      __sync_fetch_and_add(&v->recycled, 1);
      if (!ok)
        __sync_fetch_and_add(&v->recycled_failed, 1);
    }
    bpf_map_delete_elem(&time_wait, &t);
  }
  return 0;
}

/* Socket hooks: a pending bind(port 0) on the socket with this cookie failed. */
static __always_inline void bind_failed(__u64 socket_cookie)
{
  struct bind_pending *b = bpf_map_lookup_elem(&binding, &socket_cookie);
  if (!b)
    return;
  struct tw_probe_key key = {};
  key.netns_cookie = b->netns_cookie;
  __builtin_memcpy(key.addr, b->addr, 16);
  key.family = b->family;
  key.kind = TW_KIND_BIND;
  key.tgid = b->owner.tgid;
  key.generation = current_generation();
  struct tw_probe_counts *v = row(&key, &b->owner);
  if (v) {
    __sync_fetch_and_add(&v->eaddrinuse, 1);
    if (b->mapped)
      __sync_fetch_and_add(&v->v4_mapped, 1);
  }
  bpf_map_delete_elem(&binding, &socket_cookie);
}

/* Whether the socket has IP_BIND_ADDRESS_NO_PORT: its bind() chooses no port (connect() will).
 * False where the flag is not readable (before Linux 6.6); connect_begins() settles those. */
static __always_inline bool binds_no_port(struct bpf_sock *sk)
{
  if (!bpf_core_field_exists(struct inet_sock, inet_flags))
    return false;
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  if (!tp)
    return false;
  unsigned long flags = BPF_CORE_READ((struct inet_sock *)tp, inet_flags);
  return (flags >> INET_FLAGS_BIND_ADDRESS_NO_PORT) & 1;
}

/* Socket hooks: bind() on a TCP socket, before the kernel looks for a port. Always allows it.
 * v6: the bind6 hook (each hook may read only its own family's address fields). */
static __always_inline int bind_begins(struct bpf_sock_addr *ctx, bool v6)
{
  if (ctx->protocol != IPPROTO_TCP || ctx->type != SOCK_STREAM)
    return 1;
  __u64 netns = bpf_get_netns_cookie(ctx);
  if (!wanted(netns))
    return 1;
  __u64 socket_cookie = bpf_get_socket_cookie(ctx);
  bind_failed(socket_cookie); /* a bind() before this one on the socket did not succeed */
  if (ctx->user_port != 0)
    return 1; /* a fixed port in use is a configuration error, not exhaustion */
  struct bpf_sock *sk = ctx->sk;
  if (!sk || sk->src_port != 0 || binds_no_port(sk))
    return 1; /* already bound (EINVAL), or no port is chosen here */
  struct bind_pending b = {};
  b.netns_cookie = netns;
  struct sockaddr_any sa = {};
  if (!v6) {
    sa.family = AF_INET;
    sa.v4 = ctx->user_ip4;
  } else {
    sa.family = AF_INET6;
    __u32 *a = (__u32 *)sa.in6.v6;
    a[0] = ctx->user_ip6[0];
    a[1] = ctx->user_ip6[1];
    a[2] = ctx->user_ip6[2];
    a[3] = ctx->user_ip6[3];
  }
  bool mapped = false;
  if (!key_address(&sa, b.addr, &b.family, &mapped))
    return 1;
  b.mapped = mapped;
  current_owner(&b.owner);
  if (bpf_map_update_elem(&binding, &socket_cookie, &b, BPF_ANY))
    count_stat(TW_STAT_DROPPED);
  return 1;
}

SEC("cgroup/bind4")
int tw_bind4(struct bpf_sock_addr *ctx)
{
  return bind_begins(ctx, false);
}

SEC("cgroup/bind6")
int tw_bind6(struct bpf_sock_addr *ctx)
{
  return bind_begins(ctx, true);
}

/* Socket hooks: bind() found its port. */
static __always_inline int bind_succeeded(struct bpf_sock *ctx)
{
  if (ctx->protocol != IPPROTO_TCP)
    return 1;
  __u64 socket_cookie = bpf_get_socket_cookie(ctx);
  bpf_map_delete_elem(&binding, &socket_cookie);
  return 1;
}

SEC("cgroup/post_bind4")
int tw_post_bind4(struct bpf_sock *ctx)
{
  return bind_succeeded(ctx);
}

SEC("cgroup/post_bind6")
int tw_post_bind6(struct bpf_sock *ctx)
{
  return bind_succeeded(ctx);
}

/* Socket hooks: a socket goes; a bind(port 0) still pending on it failed. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tw_destroy_sock, struct sock *sk)
{
  __u64 socket_cookie = sk->__sk_common.skc_cookie.counter;
  if (socket_cookie)
    bind_failed(socket_cookie);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
