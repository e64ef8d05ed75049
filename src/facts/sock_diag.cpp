// The only file that speaks sock_diag through libnl-3. Replies are decoded in place from one
// reused receive buffer (libnl's default nl_recvmsgs would allocate an nl_msg per message).
#include "facts/sock_diag.hpp"

#include "facts/dump_file.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <exception>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <new>
#include <sys/socket.h>
#include <sys/time.h>
#include <vector>

namespace tw {

namespace {

// The kernel caps one dump skb near 32 KiB; twice that leaves room and MSG_TRUNC catches the rest.
constexpr std::size_t k_recv_buffer = std::size_t{ 64 } * 1024;
// Kernel-side socket receive buffer: lets the kernel run ahead while we decode.
constexpr int k_socket_rcvbuf = 4 * 1024 * 1024;
// Bounds on retries so a signal storm or a stuck socket cannot spin forever.
constexpr int k_max_eintr = 1000;
constexpr time_t k_recv_timeout_s = 30;

bool is_v4_mapped(const std::array<std::uint8_t, 16>& a)
{
  for (std::size_t i = 0; i < 10; ++i) {
    if (a[i] != 0) {
      return false;
    }
  }
  return a[10] == 0xff && a[11] == 0xff;
}

void unmap(std::array<std::uint8_t, 16>& a)
{
  if (is_zero_address(a)) {
    return;
  }
  std::array<std::uint8_t, 16> out{};
  std::memcpy(out.data(), a.data() + 12, 4);
  a = out;
}

void decode_one(const nlmsghdr* nlh, SockRecord& rec)
{
  inet_diag_msg msg;
  std::memcpy(&msg, nlmsg_data(nlh), sizeof(msg));
  rec = SockRecord{};
  rec.family = msg.idiag_family;
  rec.state = msg.idiag_state;
  rec.local_port = ntohs(msg.id.idiag_sport);
  rec.remote_port = ntohs(msg.id.idiag_dport);
  rec.ifindex = msg.id.idiag_if;
  rec.inode = msg.idiag_inode;
  const std::size_t addr_len = rec.family == AF_INET ? 4 : 16;
  std::memcpy(rec.local.data(), msg.id.idiag_src, addr_len);
  std::memcpy(rec.remote.data(), msg.id.idiag_dst, addr_len);
  normalise_v4_mapped(rec);
  const int hdrlen = static_cast<int>(sizeof(msg));
  if (nlh->nlmsg_len <= NLMSG_LENGTH(sizeof(msg))) {
    return;
  }
  nlattr* tb[INET_DIAG_MAX + 1] = {};
  if (nla_parse(tb, INET_DIAG_MAX, nlmsg_attrdata(nlh, hdrlen), nlmsg_attrlen(nlh, hdrlen), nullptr) < 0) {
    return;
  }
  if (const nlattr* info = tb[INET_DIAG_INFO]) {
    constexpr auto k_options_end = offsetof(tcp_info, tcpi_options) + 1;
    if (nla_len(info) >= static_cast<int>(k_options_end)) {
      tcp_info ti{};
      const auto copy = std::min(static_cast<std::size_t>(nla_len(info)), sizeof(ti));
      std::memcpy(&ti, nla_data(info), copy);
      rec.has_tcp_info = true;
      rec.tcpi_options = ti.tcpi_options;
      constexpr auto k_ack_end = offsetof(tcp_info, tcpi_last_ack_recv) + sizeof(ti.tcpi_last_ack_recv);
      if (copy >= k_ack_end) {
        rec.last_ack_recv_ms = ti.tcpi_last_ack_recv;
      }
    }
  }
}

// What one dump shares with the receive hook (libnl's hook has no user argument).
struct DumpContext
{
  int fd = -1;
  std::uint32_t seq = 0;
  const SockVisitor* visit = nullptr;
  std::vector<std::uint8_t>* buffer = nullptr;
  DumpResult* result = nullptr;
  DumpFileWriter* recorder = nullptr; // gets every reply byte from the kernel, when recording
  std::exception_ptr failure;         // thrown by the visitor, caught before it reaches libnl
};

// Turns an exception caught in the receive hook into the dump's failure.
void report_failure(const std::exception_ptr& failure, DumpResult& res)
{
  res.ok = false;
  try {
    std::rethrow_exception(failure);
  } catch (const std::bad_alloc&) {
    res.step = "aggregating the dump (out of memory)";
    res.error = ENOMEM;
  } catch (const std::exception& e) {
    res.step = std::string("aggregating the dump (") + e.what() + ")";
    res.error = ECANCELED;
  } catch (...) {
    res.step = "aggregating the dump (unknown exception)";
    res.error = ECANCELED;
  }
}

thread_local DumpContext* t_dump = nullptr;

// Points t_dump at one dump's context for its lifetime, so no path leaves it dangling.
class DumpScope
{
public:
  explicit DumpScope(DumpContext& ctx) { t_dump = &ctx; }
  ~DumpScope() { t_dump = nullptr; }
  DumpScope(const DumpScope&) = delete;
  DumpScope& operator=(const DumpScope&) = delete;
};

int receive_dump(DumpContext& ctx);

// Replaces nl_recvmsgs: one reused buffer, messages decoded in place, nothing allocated.
// libnl's C frames sit between this hook and dump_tcp, so nothing may unwind through here: an
// exception from the visitor (an allocation in the aggregator) becomes a failed dump.
int recvmsgs_in_place(nl_sock* /*sk*/, nl_cb* /*cb*/)
{
  if (t_dump == nullptr) {
    return -NLE_FAILURE;
  }
  DumpContext& ctx = *t_dump;
  try {
    return receive_dump(ctx);
  } catch (...) {
    ctx.failure = std::current_exception(); // noexcept; dump_tcp reports it past libnl
  }
  return -NLE_FAILURE;
}

int receive_dump(DumpContext& ctx)
{
  DumpResult& res = *ctx.result;
  int eintr = 0;
  for (;;) {
    sockaddr_nl from{};
    iovec iov{ ctx.buffer->data(), ctx.buffer->size() };
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof(from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    const ssize_t n = recvmsg(ctx.fd, &mh, 0);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR && ++eintr < k_max_eintr) {
        continue;
      }
      // ENOBUFS cannot happen to a dump (the kernel fills the next skb only when the reader
      // made room); should it come, it is a failure, not something to skip over.
      res.step = err == EAGAIN ? "recvmsg (no reply within the receive timeout)" : "recvmsg";
      res.error = err;
      return -NLE_FAILURE;
    }
    if (n == 0) {
      res.step = "recvmsg (socket closed before NLMSG_DONE)";
      res.error = EPIPE;
      return -NLE_FAILURE;
    }
    if ((mh.msg_flags & MSG_TRUNC) != 0) {
      res.step = "recvmsg (reply larger than the receive buffer)";
      res.error = EMSGSIZE;
      return -NLE_FAILURE;
    }
    if (from.nl_pid != 0) {
      continue; // not from the kernel
    }
    if (ctx.recorder != nullptr) {
      if (const int err = ctx.recorder->append(ctx.buffer->data(), static_cast<std::size_t>(n)); err != 0) {
        res.step = "writing the recording " + ctx.recorder->temp_path().string();
        res.error = err;
        return -NLE_FAILURE;
      }
    }
    const auto d = decode_sock_diag(ctx.buffer->data(), static_cast<std::size_t>(n), ctx.seq, *ctx.visit);
    res.messages += d.messages;
    res.skipped += d.skipped + (d.trailing > 0 ? 1U : 0U);
    res.interrupted = res.interrupted || d.interrupted;
    if (d.error != 0) {
      res.step = "sock_diag dump";
      res.error = d.error;
      return -NLE_FAILURE;
    }
    if (d.done) {
      res.ok = true;
      return 0;
    }
  }
}

const char* family_name(int family)
{
  return family == AF_INET ? "AF_INET" : family == AF_INET6 ? "AF_INET6" : "unknown family";
}

int saved_errno(int nl_err)
{
  return errno != 0 ? errno : (nl_err == -NLE_PERM ? EPERM : nl_err == -NLE_NOMEM ? ENOMEM : EIO);
}

} // namespace

void normalise_v4_mapped(SockRecord& rec)
{
  if (rec.family == AF_INET6 && is_v4_mapped(rec.local) &&
      (is_v4_mapped(rec.remote) || is_zero_address(rec.remote))) {
    rec.family = AF_INET;
    rec.v4_mapped = true;
    unmap(rec.local);
    unmap(rec.remote);
  }
}

DecodeResult decode_sock_diag(const std::uint8_t* data,
                              std::size_t len,
                              std::uint32_t seq,
                              const SockVisitor& visit)
{
  DecodeResult r;
  if (data == nullptr || len > static_cast<std::size_t>(INT32_MAX)) {
    return r;
  }
  int remaining = static_cast<int>(len);
  // The kernel (and the tests) hand over 4-byte aligned buffers; nlmsg_ok bounds every read.
  auto* nlh = reinterpret_cast<nlmsghdr*>(const_cast<std::uint8_t*>(data));
  SockRecord rec;
  for (; nlmsg_ok(nlh, remaining); nlh = nlmsg_next(nlh, &remaining)) {
    if ((nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
      r.interrupted = true;
    }
    if (nlh->nlmsg_seq != seq) {
      ++r.foreign;
      continue;
    }
    switch (nlh->nlmsg_type) {
      case NLMSG_DONE: {
        r.done = true;
        if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int code = 0;
          std::memcpy(&code, nlmsg_data(nlh), sizeof(code));
          if (code < 0) {
            r.error = -code;
          }
        }
        return r;
      }
      case NLMSG_ERROR: {
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          r.done = true;
          r.error = EBADMSG;
          return r;
        }
        nlmsgerr e;
        std::memcpy(&e, nlmsg_data(nlh), sizeof(e));
        if (e.error == 0) {
          continue; // an acknowledgement, not an error
        }
        r.done = true;
        r.error = e.error < 0 ? -e.error : e.error;
        return r;
      }
      case SOCK_DIAG_BY_FAMILY:
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
          ++r.skipped;
          continue;
        }
        decode_one(nlh, rec);
        ++r.messages;
        visit(rec);
        break;
      default:
        ++r.skipped; // NLMSG_NOOP and anything unexpected
        break;
    }
  }
  r.trailing = remaining > 0 ? static_cast<std::size_t>(remaining) : 0;
  return r;
}

struct SockDiag::Impl
{
  nl_sock* sock = nullptr;
  nl_cb* cb = nullptr;
  std::vector<std::uint8_t> buffer;
  DumpFileWriter* recorder = nullptr;  // live dumps are also recorded here
  DumpFileReader* recording = nullptr; // no socket: dumps are replayed from here
};

SockDiag::SockDiag()
  : m_impl(std::make_unique<Impl>())
{
  errno = 0;
  m_impl->sock = nl_socket_alloc();
  if (m_impl->sock == nullptr) {
    m_step = "nl_socket_alloc";
    m_error = ENOMEM;
    return;
  }
  nl_socket_disable_auto_ack(m_impl->sock);
  errno = 0;
  if (const int err = nl_connect(m_impl->sock, NETLINK_SOCK_DIAG); err < 0) {
    m_step = "nl_connect(NETLINK_SOCK_DIAG) (" + std::string(nl_geterror(err)) + ")";
    m_error = saved_errno(err);
    return;
  }
  errno = 0;
  if (const int err = nl_socket_set_buffer_size(m_impl->sock, k_socket_rcvbuf, 0); err < 0) {
    m_step = "nl_socket_set_buffer_size (SO_RCVBUF)";
    m_error = saved_errno(err);
    return;
  }
  if (const int err = nl_socket_set_msg_buf_size(m_impl->sock, k_recv_buffer); err < 0) {
    m_step = "nl_socket_set_msg_buf_size";
    m_error = saved_errno(err);
    return;
  }
  const timeval tv{ k_recv_timeout_s, 0 };
  if (setsockopt(nl_socket_get_fd(m_impl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    m_step = "setsockopt(SO_RCVTIMEO) on the sock_diag socket";
    m_error = errno;
    return;
  }
  m_impl->cb = nl_cb_alloc(NL_CB_DEFAULT);
  if (m_impl->cb == nullptr) {
    m_step = "nl_cb_alloc";
    m_error = ENOMEM;
    return;
  }
  nl_cb_overwrite_recvmsgs(m_impl->cb, recvmsgs_in_place);
  m_impl->buffer.resize(k_recv_buffer);
}

SockDiag::SockDiag(DumpFileWriter& recorder)
  : SockDiag()
{
  m_impl->recorder = &recorder;
}

SockDiag::SockDiag(DumpFileReader& recording)
  : m_impl(std::make_unique<Impl>())
{
  m_impl->recording = &recording;
  m_impl->buffer.resize(k_recv_buffer);
}

SockDiag::~SockDiag()
{
  if (m_impl->cb != nullptr) {
    nl_cb_put(m_impl->cb);
  }
  if (m_impl->sock != nullptr) {
    nl_socket_free(m_impl->sock); // closes the fd too
  }
}

DumpResult SockDiag::dump_tcp(int family, std::uint32_t states, bool want_info, const SockVisitor& visit)
{
  DumpResult res;
  const std::string fam = family_name(family);
  if (!ok()) {
    res.step = m_step;
    res.error = m_error;
    return res;
  }
  if (m_impl->recording != nullptr) {
    return replay_dump(family, states, want_info, visit);
  }
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<std::uint8_t>(family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = states;
  req.idiag_ext = want_info ? static_cast<std::uint8_t>(1U << (INET_DIAG_INFO - 1)) : 0;

  nl_msg* msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
  if (msg == nullptr) {
    res.step = "nlmsg_alloc_simple (" + fam + ")";
    res.error = ENOMEM;
    return res;
  }
  if (nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO) < 0) {
    nlmsg_free(msg);
    res.step = "nlmsg_append inet_diag_req_v2 (" + fam + ")";
    res.error = ENOMEM;
    return res;
  }
  const std::uint32_t seq = nl_socket_use_seq(m_impl->sock);
  nlmsg_hdr(msg)->nlmsg_seq = seq;
  errno = 0;
  const int sent = nl_send_auto(m_impl->sock, msg);
  nlmsg_free(msg);
  if (sent < 0) {
    res.step = "send inet_diag_req_v2 (" + fam + ")";
    res.error = saved_errno(sent);
    return res;
  }

  if (m_impl->recorder != nullptr) {
    if (const int err = m_impl->recorder->begin_dump({ family, states, want_info }, seq); err != 0) {
      res.step = "writing the recording " + m_impl->recorder->temp_path().string() + " (" + fam + ")";
      res.error = err;
      return res;
    }
  }

  DumpContext ctx;
  ctx.fd = nl_socket_get_fd(m_impl->sock);
  ctx.seq = seq;
  ctx.visit = &visit;
  ctx.buffer = &m_impl->buffer;
  ctx.result = &res;
  ctx.recorder = m_impl->recorder;
  int rc = 0;
  {
    const DumpScope scope(ctx);
    rc = nl_recvmsgs(m_impl->sock, m_impl->cb);
  }
  if (ctx.failure) {
    report_failure(ctx.failure, res);
  }
  if (rc < 0 && res.error == 0) {
    res.step = "nl_recvmsgs (" + std::string(nl_geterror(rc)) + ")";
    res.error = EIO;
  }
  if (m_impl->recorder != nullptr) {
    if (const int err = m_impl->recorder->end_dump(); err != 0 && res.error == 0) {
      res.ok = false;
      res.step = "writing the recording " + m_impl->recorder->temp_path().string();
      res.error = err;
    }
  }
  if (!res.ok && !res.step.empty()) {
    res.step += " (" + fam + ")";
  }
  return res;
}

// Decodes one recorded section exactly as receive_dump decodes the kernel's replies: the same
// decoder, sequence number, buffer size and accounting, so a replay gives the census the live run
// gave. The section is streamed through the reused buffer; a message cut by a buffer boundary is
// carried over to the next fill.
DumpResult SockDiag::replay_dump(int family, std::uint32_t states, bool want_info, const SockVisitor& visit)
{
  DumpResult res;
  DumpFileReader& recording = *m_impl->recording;
  const std::string where = "replaying " + recording.path().string();
  const DumpRequest asked{ family, states, want_info };
  RecordedDump section;
  std::string why;
  if (!recording.next_dump(section, why)) {
    res.step =
      where + ": " + (why.empty() ? "the recording ends before the dump of " + describe(asked) : why);
    res.error = EBADMSG;
    return res;
  }
  if (!(section.request == asked)) {
    res.step = where + ": the recording's next dump is " + describe(section.request) +
               ", the census asks for " + describe(asked) + " (recorded by another version of the census?)";
    res.error = EBADMSG;
    return res;
  }
  std::vector<std::uint8_t>& buffer = m_impl->buffer;
  std::size_t filled = 0;
  try {
    for (;;) {
      int err = 0;
      const std::size_t got = recording.read(buffer.data() + filled, buffer.size() - filled, err);
      if (err != 0) {
        res.step = where + ": the recorded dump is cut off";
        res.error = err;
        break;
      }
      filled += got;
      const auto d = decode_sock_diag(buffer.data(), filled, section.seq, visit);
      res.messages += d.messages;
      res.skipped += d.skipped;
      res.interrupted = res.interrupted || d.interrupted;
      if (d.error != 0) {
        res.step = "sock_diag dump";
        res.error = d.error;
        break;
      }
      if (d.done) {
        res.ok = true;
        break;
      }
      if (got == 0) {
        // The section ended without NLMSG_DONE: the recording is damaged (a live dump that
        // failed is never committed). A last cut-off message is counted as a skipped reply.
        res.skipped += d.trailing > 0 ? 1U : 0U;
        res.step = where + ": the recorded dump ends before NLMSG_DONE";
        res.error = EBADMSG;
        break;
      }
      // Keep the cut-off message (if any) for the next fill.
      const std::size_t used = filled - d.trailing;
      if (used == 0 && filled == buffer.size()) {
        res.step = where + ": a recorded message does not fit in " + std::to_string(buffer.size()) +
                   " bytes, or its length is malformed";
        res.error = EBADMSG;
        break;
      }
      std::memmove(buffer.data(), buffer.data() + used, d.trailing);
      filled = d.trailing;
    }
  } catch (...) {
    report_failure(std::current_exception(), res);
  }
  if (!res.ok && !res.step.empty()) {
    res.step += " (" + std::string(family_name(family)) + ")";
  }
  return res;
}

} // namespace tw
