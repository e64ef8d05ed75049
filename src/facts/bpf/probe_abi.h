/* What the evidence probe (tw_probe.bpf.c) and its reader (facts/probe.cpp) agree on: the keys
 * and values of its maps. C, included by both sides; plain fixed-size fields, no pointers. */
#ifndef TW_PROBE_ABI_H
#define TW_PROBE_ABI_H

/* The BPF side takes __u8..__u64 from kernel_types.h; user space from the UAPI header. */
#ifndef __bpf__
#include <linux/types.h>
#endif

/* Map capacities (doc/probe.md): what happens at each cap is counted, never silent. */
#define TW_PROBE_MAX_EVENTS 16384    /* (netns, destination, process) rows; full: stats.dropped */
#define TW_PROBE_MAX_LATENCY 2048    /* (netns, destination) connect() time histograms */
/* A reader that drains the maps (the monitor) holds them to one interval's rows, not its life. */
#define TW_PROBE_MAX_TIME_WAIT 65536 /* tuples that entered TIME_WAIT (LRU: the oldest go) */
/* Socket hooks only: bind(port 0) calls whose outcome is not known yet (a bind() in progress, or
 * one that failed on a socket not closed yet); full: stats.dropped. */
#define TW_PROBE_MAX_BINDING 4096
/* Socket hooks only: connect() calls in their handshake (SYN sent, no answer yet); full: a new
 * one is not counted, stats.dropped. */
#define TW_PROBE_MAX_CONNECTING 16384

/* connect() errors counted by name; anything else is TW_ERR_OTHER. */
enum tw_probe_err {
  TW_ERR_ETIMEDOUT,
  TW_ERR_ECONNREFUSED,
  TW_ERR_ENETUNREACH,
  TW_ERR_EHOSTUNREACH,
  TW_ERR_ECONNRESET,
  TW_ERR_EACCES,
  TW_ERR_EPERM,
  TW_ERR_EINTR,
  TW_ERR_EADDRINUSE,
  TW_ERR_OTHER,
  TW_ERR_SLOTS
};

/* What a row counts. */
enum tw_probe_kind {
  TW_KIND_CONNECT = 1, /* connect() on a TCP socket towards addr:port, by process tgid (socket
                          hooks: counted when its handshake ends, by the tgid that called it) */
  TW_KIND_BIND = 2,    /* bind() to port 0 of addr on a TCP socket, by process tgid */
  TW_KIND_HANDSHAKE = 3, /* handshakes towards addr:port (softirq context: tgid 0) */
};

struct tw_probe_key {
  __u64 netns_cookie;
  __u8 addr[16]; /* network order; IPv4 (and v4-mapped IPv6) in the first 4 bytes */
  __u16 port;    /* host order */
  __u8 family;   /* 2 = AF_INET (v4-mapped included), 10 = AF_INET6 */
  __u8 kind;     /* enum tw_probe_kind */
  __u32 tgid;
  __u8 generation; /* the generation the row was counted in (tw_probe.bpf.c: generation) */
  __u8 pad[7];
};

struct tw_probe_counts {
  __u64 ok;            /* connect(): 0 or EINPROGRESS (system-call hook); ESTABLISHED (socket hooks) */
  __u64 eaddrnotavail; /* connect(): EADDRNOTAVAIL */
  __u64 eaddrinuse;    /* bind(port 0): EADDRINUSE */
  __u64 errors[TW_ERR_SLOTS]; /* connect(): other errors */
  __u64 v4_mapped;     /* calls made on AF_INET6 sockets towards a v4-mapped address */
  __u64 recycled;      /* handshake: the tuple left TIME_WAIT less than 60 s before */
  __u64 recycled_failed; /* handshake: recycled, then closed before ESTABLISHED (reset, timeout) */
  __u64 failed;        /* handshake: SYN_SENT -> CLOSE (refused, reset, timed out) */
  __u64 established;   /* handshake: reached ESTABLISHED. A connect row counts its handshakes too
                          (established, failed, recycled, recycled_failed) when the socket hooks
                          saw the connect() begin: one row per connection, not two. */
  __u64 cgroup_id;
  char comm[16];
};

/* connect() time in microseconds, log-linear: 4 buckets per power of two (within 25%). A power
 * of two, so the program can mask the index. */
#define TW_LATENCY_BUCKETS 128
struct tw_probe_latency_key {
  __u64 netns_cookie;
  __u8 addr[16];
  __u16 port;
  __u8 family;
  __u8 generation;
  __u8 pad[4];
};
struct tw_probe_latency {
  __u32 buckets[TW_LATENCY_BUCKETS];
};

/* A TCP 4-tuple (normalised as the keys are) that entered TIME_WAIT, for recycle detection. */
struct tw_probe_tuple {
  __u64 netns_cookie;
  __u8 saddr[16];
  __u8 daddr[16];
  __u16 sport;
  __u16 dport;
  __u8 family;
  __u8 pad[3];
};

/* Indices of the stats array. */
enum tw_probe_stat {
  TW_STAT_DROPPED,        /* an event row or histogram could not be added: a map was full */
  TW_STAT_TIME_WAIT_SEEN, /* sockets that entered TIME_WAIT while attached */
  TW_STAT_UNREADABLE,     /* a syscall argument could not be read */
  TW_STAT_SLOTS
};

#endif
