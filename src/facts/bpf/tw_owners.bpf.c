/* tw-advisor's socket owner iterator: one pass over every open file of every process, in the
 * kernel (iter/task_file), handing over only the sockets as (tgid, fd, inode). The same answer a
 * walk of /proc/PID/fd gives (readlink of each descriptor, "socket:[inode]"), without a path
 * lookup and a readlink system call per descriptor. Threads that share their process's file
 * table are skipped by the kernel's iterator, so each table is seen once. */
#include "kernel_types.h"
#include "owners_abi.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Results, in the program's globals (.bss and .data; read by the reader after the iterator ends). */
__u64 files = 0;       /* open files seen */
__u64 tables = 0;      /* file tables seen (a process, or a thread with its own table) */
__u32 reader_tgid = 0; /* the reader as this program sees it: its PID namespace is the initial one
                          when this equals its getpid() */
__s32 last_pid = -1;   /* the task of the previous file, to count tables */

SEC("iter/task_file")
int socket_fds(struct bpf_iter__task_file *ctx)
{
  struct task_struct *task = ctx->task;
  struct file *file = ctx->file;
  if (!task || !file) {
    return 0;
  }
  if (!reader_tgid) {
    reader_tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  }
  files++;
  const int pid = BPF_CORE_READ(task, pid);
  if (pid != last_pid) {
    last_pid = pid;
    tables++;
  }
  if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK) {
    return 0;
  }
  struct tw_owner_record r = {};
  r.tgid = (__u32)BPF_CORE_READ(task, tgid);
  r.fd = ctx->fd;
  r.inode = BPF_CORE_READ(file, f_inode, i_ino);
  bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
  return 0;
}
