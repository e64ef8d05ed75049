/* tw-advisor's one-pass socket walk: every TCP socket of every network namespace that shares the
 * host's established hash (tcp_child_ehash_entries=0, the default), in one pass instead of one
 * sock_diag dump per namespace, each of which walks the whole shared table.
 *
 * An iter/task program is only the trigger: run by the reader's read() on its first task, it
 * takes the table of the reader's own namespace (current->nsproxy->net_ns->ipv4.tcp_death_row
 * .hashinfo); then bpf_loop steps through buckets and chains with bpf_probe_read_kernel, as the
 * kernel's own lockless lookups do under RCU. Sockets are SLAB_TYPESAFE_BY_RCU: one can be freed
 * and reused while we read it, so a bucket is walked again when its chain ends in another
 * bucket's nulls marker (the socket moved), when a read fails, or when the chain comes back to
 * the socket it started with (one was reused at the head); sockets being freed (no references)
 * are skipped. LISTEN sockets live in another table: the reader takes those per namespace with
 * sock_diag. read_netns, at the end, is the per-namespace fallback. */
#include "kernel_types.h"
#include "walk_abi.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define TCP_SYN_RECV 3
#define TCP_TIME_WAIT 6
#define TCP_LISTEN 10
#define TCP_NEW_SYN_RECV 12

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, TW_WALK_MAX_RECORDS);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, struct tw_walk_record);
} records SEC(".maps");

/* Set by the reader before each run. */
__u32 start_bucket = 0;
__u32 triggered = 0; /* 0 before a run; the first task shown sets it */
__u32 capacity = TW_WALK_MAX_RECORDS; /* records a run may hand over (fewer: tests of run ends) */
/* Results of the run. */
__u32 next_bucket = 0; /* where the next run starts; == buckets when the walk is done */
__u32 buckets = 0;     /* ehash_mask + 1 */
__u32 count = 0;       /* records written */
__u32 error = 0;       /* TW_WALK_ERR_* */
__u32 pernet = 0;      /* the table walked is a namespace's own, not the shared one */
__u64 restarts = 0;    /* buckets walked again because their chain moved */
/* Restarts of the current bucket. A global, not in the loop's context: the verifier follows a
 * counter on the stack value by value through every bpf_loop iteration and gives up. */
__u32 bucket_restarts = 0;

struct walk {
  const struct inet_ehash_bucket *ehash;
  const struct hlist_nulls_node *node; /* the next node of the current chain, or a nulls marker */
  __u32 bucket;                        /* the bucket being walked */
  __u32 bucket_first;                  /* count when this bucket began: a restart goes back there */
  const void *first;                   /* the bucket's first node as this pass began */
  __u32 nulls_off;                     /* offset of skc_nulls_node in struct sock_common */
};

static __always_inline int is_nulls(const void *node)
{
  return ((unsigned long)node & 1UL) != 0;
}

static __always_inline const struct hlist_nulls_node *first_of(const struct walk *w, __u32 bucket)
{
  const struct hlist_nulls_node *first = 0;
  bpf_probe_read_kernel(&first, sizeof(first), &w->ehash[bucket].chain.first);
  return first;
}

static __always_inline void fill(struct tw_walk_record *r, const struct sock_common *skc)
{
  __u8 state = BPF_CORE_READ(skc, skc_state);
  r->netns_cookie = BPF_CORE_READ(skc, skc_net.net, net_cookie);
  r->family = (__u8)BPF_CORE_READ(skc, skc_family);
  r->ifindex = (__u32)BPF_CORE_READ(skc, skc_bound_dev_if);
  r->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
  r->tstamp_ok = 0;
  if (state == TCP_TIME_WAIT) {
    const struct inet_timewait_sock *tw = (const void *)skc;
    r->kind = TW_WALK_TIMEWAIT;
    state = BPF_CORE_READ(tw, tw_substate);
    r->sport = bpf_ntohs(BPF_CORE_READ(tw, tw_sport));
  } else if (state == TCP_NEW_SYN_RECV) {
    r->kind = TW_WALK_REQUEST;
    state = TCP_SYN_RECV; /* a request socket: sock_diag reports it so */
    r->sport = BPF_CORE_READ(skc, skc_num);
  } else {
    /* From a pointer of its own: `&tp->rx_opt` would make clang relocate tstamp_ok relative to
     * tcp_sock, and the macro would add rx_opt's offset twice. */
    const struct tcp_options_received *opt =
      (const void *)((unsigned long)skc + bpf_core_field_offset(struct tcp_sock, rx_opt));
    r->kind = TW_WALK_FULL;
    r->tstamp_ok = (__u8)BPF_CORE_READ_BITFIELD_PROBED(opt, tstamp_ok);
    r->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)skc, inet_sport));
  }
  r->state = state;
  if (r->family == AF_INET) {
    __builtin_memset(r->saddr, 0, sizeof(r->saddr));
    __builtin_memset(r->daddr, 0, sizeof(r->daddr));
    bpf_probe_read_kernel(r->saddr, 4, &skc->skc_rcv_saddr);
    bpf_probe_read_kernel(r->daddr, 4, &skc->skc_daddr);
  } else {
    bpf_probe_read_kernel(r->saddr, 16, &skc->skc_v6_rcv_saddr);
    bpf_probe_read_kernel(r->daddr, 16, &skc->skc_v6_daddr);
  }
}

/* Walks the current bucket again from its head: its chain changed under the walk. 1 ends the run. */
static __always_inline long restart_bucket(struct walk *w)
{
  restarts++;
  if (++bucket_restarts > TW_WALK_MAX_RESTARTS) {
    error = TW_WALK_ERR_UNSTABLE;
    return 1;
  }
  count = w->bucket_first;
  w->node = first_of(w, w->bucket);
  w->first = w->node;
  return 0;
}

/* One step: move to the next bucket at a chain's end, else record one socket. 1 ends the run. */
static long step(__u64 index, void *data)
{
  struct walk *w = data;
  const struct hlist_nulls_node *node = w->node;
  if (!node) {
    return restart_bucket(w); /* a read failed */
  }
  if (is_nulls(node)) {
    if (((unsigned long)node >> 1) != w->bucket) {
      return restart_bucket(w); /* the last socket moved to another chain while we read it */
    }
    w->bucket++;
    w->bucket_first = count;
    bucket_restarts = 0;
    if (w->bucket >= buckets) {
      return 1;
    }
    w->node = first_of(w, w->bucket);
    w->first = w->node;
    return 0;
  }
  if (count >= capacity || count >= TW_WALK_MAX_RECORDS) {
    /* Full: this bucket goes whole into the next run. */
    if (w->bucket_first == 0) {
      error = TW_WALK_ERR_CHAIN_FULL;
      return 1;
    }
    count = w->bucket_first;
    return 1;
  }
  const struct sock_common *skc = (const void *)((unsigned long)node - w->nulls_off);
  const struct hlist_nulls_node *next = 0;
  if (bpf_probe_read_kernel(&next, sizeof(next), &node->next) != 0 || !next || next == w->first) {
    return restart_bucket(w); /* unreadable, or back at the start: a socket was reused at the head */
  }
  w->node = next;
  if (BPF_CORE_READ(skc, skc_refcnt.refs.counter) == 0) {
    return 0; /* being freed: sock_diag would not report it either */
  }
  __u32 slot = count;
  struct tw_walk_record *r = bpf_map_lookup_elem(&records, &slot);
  if (!r) {
    error = TW_WALK_ERR_CHAIN_FULL;
    return 1;
  }
  fill(r, skc);
  count++;
  return 0;
}

SEC("iter/task")
int walk_ehash(struct bpf_iter__task *ctx)
{
  if (!ctx->task || triggered) {
    return 0;
  }
  triggered = 1;
  /* The reader's own namespace: this program runs in its read(). */
  struct task_struct *me = bpf_get_current_task_btf();
  struct inet_hashinfo *hashinfo = BPF_CORE_READ(me, nsproxy, net_ns, ipv4.tcp_death_row.hashinfo);
  if (bpf_core_field_exists(hashinfo->pernet)) {
    pernet = BPF_CORE_READ(hashinfo, pernet);
  }
  struct walk w = {};
  w.ehash = BPF_CORE_READ(hashinfo, ehash);
  buckets = BPF_CORE_READ(hashinfo, ehash_mask) + 1;
  if (!w.ehash || buckets == 1) {
    error = TW_WALK_ERR_NO_HASH;
    return 0;
  }
  w.nulls_off = bpf_core_field_offset(struct sock_common, skc_nulls_node);
  w.bucket = start_bucket;
  w.bucket_first = 0;
  count = 0;
  bucket_restarts = 0;
  if (w.bucket < buckets && !pernet) {
    w.node = first_of(&w, w.bucket);
    w.first = w.node;
    bpf_loop(TW_WALK_MAX_STEPS, step, &w, 0);
  }
  if (w.bucket < buckets) {
    count = w.bucket_first; /* stopped inside a bucket: it goes whole into the next run */
  }
  next_bucket = w.bucket;
  bpf_seq_write(ctx->meta->seq, "w", 1);
  return 0;
}

/* The per-namespace fallback: the kernel's TCP iterator shows the sockets of the namespace the
 * iterator was created in (it still walks the whole table to find them, but without building
 * netlink messages). Each non-listening socket goes out as one record; LISTEN sockets are read
 * by sock_diag, as for the walk. */
SEC("iter/tcp")
int read_netns(struct bpf_iter__tcp *ctx)
{
  struct sock_common *skc = ctx->sk_common;
  if (!skc) {
    return 0;
  }
  if (BPF_CORE_READ(skc, skc_state) == TCP_LISTEN) {
    return 0;
  }
  struct tw_walk_record r = {};
  fill(&r, skc);
  bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
  return 0;
}
