/* What the one-pass socket walk (tw_walk.bpf.c) and its reader (facts/ehash_walk.cpp) agree on.
 * C, included by both sides; plain fixed-size fields, no pointers. */
#ifndef TW_WALK_ABI_H
#define TW_WALK_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Records one run of the walk can hand over (56 bytes each: 3.5 MiB). A run stops at a bucket
 * boundary before the buffer fills and the reader starts the next run at that bucket. */
#define TW_WALK_MAX_RECORDS 65536
/* Steps (a socket, or a move to the next bucket) of one run, all under one RCU read section:
 * bounded well below bpf_loop's own 1 << 23 so that one run stays short. */
#define TW_WALK_MAX_STEPS (1 << 20)
/* Restarts of one bucket whose chain moved under the walk before the run gives up on it. */
#define TW_WALK_MAX_RESTARTS 8

/* What a record's socket is: sock_diag gives tcp_info only for full sockets. */
#define TW_WALK_FULL 0
#define TW_WALK_TIMEWAIT 1
#define TW_WALK_REQUEST 2

/* One socket of the shared established hash as sock_diag would report it. */
struct tw_walk_record {
  __u64 netns_cookie; /* network namespace cookie (never reused, unlike inode numbers) */
  __u32 ifindex;   /* bound device, 0 when unbound */
  __u32 pad;
  __u8 family;     /* AF_INET or AF_INET6 (IPv4-mapped ones are normalised by the reader) */
  __u8 state;      /* sock_diag's numbering: a TIME_WAIT socket's substate, NEW_SYN_RECV as SYN_RECV */
  __u8 kind;       /* TW_WALK_FULL (tstamp_ok is read), TW_WALK_TIMEWAIT or TW_WALK_REQUEST */
  __u8 tstamp_ok;  /* the connection negotiated TCP timestamps */
  __u16 sport;     /* local port, host byte order */
  __u16 dport;     /* remote port, host byte order */
  __u8 saddr[16];  /* network byte order; IPv4 in the first 4 bytes */
  __u8 daddr[16];
};

/* The walk's controls and results, in the program's .bss (read and written by the reader). */
#define TW_WALK_ERR_NO_HASH 1     /* the established hash could not be read */
#define TW_WALK_ERR_CHAIN_FULL 2  /* one bucket holds more sockets than a run can hand over */
#define TW_WALK_ERR_UNSTABLE 3    /* a bucket kept moving after TW_WALK_MAX_RESTARTS restarts */

#endif
