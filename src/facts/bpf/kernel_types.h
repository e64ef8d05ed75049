/* The few kernel types the probe reads, declared by hand so the build does not depend on the
 * kernel of the machine that builds it. Every struct is relocatable (CO-RE): libbpf finds each
 * field by name in the running kernel's BTF (/sys/kernel/btf/vmlinux) at load time, so only the
 * fields read are listed and their order and offsets here do not matter. Fields that sit in
 * anonymous unions in the kernel are listed directly: libbpf looks through anonymous members.
 * x86-64 only: the syscall arguments are read from struct pt_regs by their x86-64 names. */
#ifndef TW_KERNEL_TYPES_H
#define TW_KERNEL_TYPES_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u16 __sum16;
typedef _Bool bool;
#define true 1
#define false 0

/* The UAPI constants the programs use (stable kernel ABI). */
enum {
  BPF_ANY = 0,
  BPF_NOEXIST = 1,
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_LRU_HASH = 9,
  BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
  BPF_MAP_TYPE_SK_STORAGE = 24,
  BPF_MAP_TYPE_TASK_STORAGE = 29,
  BPF_F_NO_PREALLOC = 1,
  BPF_F_MMAPABLE = 1024,
  BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};

/* An inode's file type (i_mode & S_IFMT): a socket's. */
#define S_IFMT 00170000
#define S_IFSOCK 0140000

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs {
  unsigned long di;
  unsigned long si;
  unsigned long dx;
  unsigned long orig_ax;
};

struct ns_common {
  unsigned int inum;
};

struct hlist_nulls_node {
  struct hlist_nulls_node *next;
};

struct hlist_nulls_head {
  struct hlist_nulls_node *first;
};

struct inet_ehash_bucket {
  struct hlist_nulls_head chain;
};

struct inet_hashinfo {
  struct inet_ehash_bucket *ehash;
  unsigned int ehash_mask;
  bool pernet; /* a namespace's own table (Linux 6.1) */
};

struct inet_timewait_death_row {
  struct inet_hashinfo *hashinfo; /* the shared tcp_hashinfo, or this namespace's own table */
};

struct netns_ipv4 {
  struct inet_timewait_death_row tcp_death_row; /* embedded since Linux 6.2 */
};

struct net {
  struct ns_common ns;
  __u64 net_cookie;
  struct netns_ipv4 ipv4;
};

typedef struct {
  struct net *net;
} possible_net_t;

struct in6_addr {
  union {
    __u8 u6_addr8[16];
    __be32 u6_addr32[4];
  } in6_u;
};

typedef struct {
  int counter;
} atomic_t;

typedef struct {
  __s64 counter;
} atomic64_t;

typedef struct refcount_struct {
  atomic_t refs;
} refcount_t;

struct sock_common {
  refcount_t skc_refcnt;
  __be32 skc_daddr;
  __be32 skc_rcv_saddr;
  __be16 skc_dport;
  __u16 skc_num;
  unsigned short skc_family;
  unsigned char skc_state;
  int skc_bound_dev_if;
  struct hlist_nulls_node skc_nulls_node;
  possible_net_t skc_net;
  struct in6_addr skc_v6_daddr;
  struct in6_addr skc_v6_rcv_saddr;
  atomic64_t skc_cookie; /* 0 until someone asks for it (sock_gen_cookie) */
};

struct sock {
  struct sock_common __sk_common;
  __u16 sk_type;
  __u16 sk_protocol;
  int sk_err;
};

struct tcp_options_received {
  __u16 saw_tstamp : 1, tstamp_ok : 1;
};

struct tcp_sock {
  __u32 segs_out;      /* segments sent, the SYN included */
  __u32 total_retrans; /* segments retransmitted, a SYN's included */
  __u64 tcp_wstamp_ns; /* the departure time of the last segment sent (Linux 4.20+) */
  struct tcp_options_received rx_opt;
};

struct inet_timewait_sock {
  struct sock_common __tw_common;
  unsigned char tw_substate;
  __be16 tw_sport;
};

struct seq_file;

struct bpf_iter_meta {
  struct seq_file *seq;
};

struct bpf_iter__tcp {
  struct bpf_iter_meta *meta;
  struct sock_common *sk_common;
};

struct task_struct;

struct bpf_iter__task {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
};

struct file;

struct bpf_iter__task_file {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
  __u32 fd;
  struct file *file;
};

struct inet_sock {
  struct sock sk;
  __be16 inet_sport;
  unsigned long inet_flags; /* Linux 6.6+: one bit per enum inet_flags */
};

/* The bit of IP_BIND_ADDRESS_NO_PORT in inet_flags (include/net/inet_sock.h). The kernel's enum
 * is anonymous, so CO-RE cannot look its value up: 18 since Linux 6.6, where new flags are added
 * at the end. */
#define INET_FLAGS_BIND_ADDRESS_NO_PORT 18

struct socket {
  short type;
  struct sock *sk;
};

struct inode {
  unsigned short i_mode;
  unsigned long i_ino; /* a socket's is the number in "socket:[N]" and in sock_diag's inode */
};

struct file {
  struct inode *f_inode;
  void *private_data;
};

struct fdtable {
  unsigned int max_fds;
  struct file **fd;
};

struct files_struct {
  struct fdtable *fdt;
};

struct nsproxy {
  struct net *net_ns;
};

struct thread_info {
  __u32 status; /* TS_COMPAT while a 32-bit system call runs */
};

struct task_struct {
  struct thread_info thread_info;
  int pid;
  int tgid;
  struct nsproxy *nsproxy;
  struct files_struct *files;
};

#pragma clang attribute pop

/* The contexts of the cgroup socket programs: UAPI (linux/bpf.h), stable, read at fixed offsets
 * that the verifier rewrites, so laid out exactly and not relocated. Only the prefix up to the
 * last field read. */
struct bpf_sock {
  __u32 bound_dev_if;
  __u32 family;
  __u32 type;
  __u32 protocol;
  __u32 mark;
  __u32 priority;
  __u32 src_ip4;
  __u32 src_ip6[4];
  __u32 src_port; /* host order; 0 until a port is bound */
};

struct bpf_sock_addr {
  __u32 user_family;
  __u32 user_ip4; /* network order */
  __u32 user_ip6[4];
  __u32 user_port; /* network order */
  __u32 family;
  __u32 type;
  __u32 protocol;
  __u32 msg_src_ip4;
  __u32 msg_src_ip6[4];
  union {
    struct bpf_sock *sk;
    __u64 : 64;
  } __attribute__((aligned(8)));
};

struct bpf_sock_ops {
  __u32 op;
  union {
    __u32 args[4];
    __u32 reply;
    __u32 replylong[4];
  };
  __u32 family;
  __u32 remote_ip4;
  __u32 local_ip4;
  __u32 remote_ip6[4];
  __u32 local_ip6[4];
  __u32 remote_port;
  __u32 local_port;
  __u32 is_fullsock;
  __u32 snd_cwnd;
  __u32 srtt_us;
  __u32 bpf_sock_ops_cb_flags;
  __u32 state;
  __u32 rtt_min;
  __u32 snd_ssthresh;
  __u32 rcv_nxt;
  __u32 snd_nxt;
  __u32 snd_una;
  __u32 mss_cache;
  __u32 ecn_flags;
  __u32 rate_delivered;
  __u32 rate_interval_us;
  __u32 packets_out;
  __u32 retrans_out;
  __u32 total_retrans;
  __u32 segs_in;
  __u32 data_segs_in;
  __u32 segs_out;
  __u32 data_segs_out;
  __u32 lost_out;
  __u32 sacked_out;
  __u32 sk_txhash;
  __u64 bytes_received;
  __u64 bytes_acked;
  union {
    struct bpf_sock *sk;
    __u64 : 64;
  } __attribute__((aligned(8)));
};

#endif
