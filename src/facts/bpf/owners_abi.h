/* What the socket owner iterator (tw_owners.bpf.c) and its reader (facts/owners_iter.cpp) agree
 * on. C, included by both sides; plain fixed-size fields, no pointers. */
#ifndef TW_OWNERS_ABI_H
#define TW_OWNERS_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* One open socket of one process: what /proc/PID/fd/N -> "socket:[inode]" says. */
struct tw_owner_record {
  __u32 tgid;  /* the process (thread group) in the initial PID namespace */
  __u32 fd;    /* the descriptor number */
  __u64 inode; /* the socket's inode, as sock_diag reports it */
};

#endif
