/*
 * A non-blocking IPv4 UDP socket with batched I/O: recvmmsg bursts through dev.c, and a bounded,
 * preallocated send queue flushed with sendmmsg, trains of equal-size datagrams as one UDP GSO message.
 *
 * udpOpen(addr, port, bufBytes, sendSlots, slotSize[, poolSize[, gso]]) -> [handle, boundPort, poolPorts, gso]
 *     throws Error{code: EADDRINUSE|EADDRNOTAVAIL|EACCES|EMFILE|...}
 *     poolSize (0..256, default 0): also open that many send-only UDP sockets on addr, each bound to a
 *     port the kernel picks from its local port range (32768..60999 by default, the range the
 *     kernel's VXLAN device takes its source ports from); poolPorts lists their ports. No raw socket,
 *     no CAP_NET_RAW. They are never read: a BPF filter drops whatever the kernel would queue to them.
 *     gso (default true): send trains with UDP_SEGMENT when the kernel supports it (probed here with
 *     getsockopt); the returned gso says whether it is in use.
 *     gro (default false): set UDP_GRO on the bound socket (udp_gro.c) when the kernel has it; the
 *     returned gro says whether it is on. gro = true needs udpStart's gsoSizes.
 * udpOpen returns [handle, boundPort, poolPorts, gso, gro, groSupported].
 * udpStart(handle, slab, lens, addrs, ports, slotSize, headroom, burst, onBurst(count)[, gsoSizes])
 *     gsoSizes (Uint16Array, >= burst; required when GRO is on): for read i, the size of each
 *     datagram glued into it (0: it is one datagram). The caller splits (src/underlay/gro-split.ts).
 * udpSend(handle, buf, off, len, addr, port[, srcPort]) -> boolean  copies into the queue (the caller
 *     may reuse its buffer at once); flushes first when the queue is full; datagrams larger than a
 *     queue slot are sent at once. false = dropped and counted; never throws per packet.
 *     srcPort 1..65535 with a pool: the datagram leaves from pool socket srcPort % poolSize (one flow,
 *     one srcPort, one socket, so its order is kept); absent/0 (or no pool): from the bound socket.
 *     A srcPort outside 0..65535 is refused.
 * udpFlush(handle) -> number of datagrams the kernel accepted; EAGAIN/ENOBUFS drop the rest of a run
 *     (counted). Queue entries keep their order: runs for the same socket go out in one sendmmsg, and
 *     within a run consecutive datagrams to one destination, all of one size but the last (at most
 *     64, at most 65507 bytes), form one message with a UDP_SEGMENT control message (one GSO skb on
 *     the wire's device; the kernel writes every datagram's UDP header and checksum, DF stays clear).
 *     A train the kernel refuses (EIO: the device cannot checksum, so GSO is switched off; EINVAL: a
 *     segment larger than the path allows, so trains of that size are not tried again) is counted in
 *     gsoFallbacks and sent one datagram per message; no datagram is lost to a fallback.
 */
#include "dev.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define FL_MAX_UDP 65507
#define FL_GSO_MAX_SEGS 64
#define FL_POOL_MAX 256
#define FL_GSO_CMSG_SPACE CMSG_SPACE(sizeof(uint16_t))

/*
 * The read_burst of every UDP socket: one recvmmsg of up to d->burst datagrams, one slot each. A read
 * larger than a slot (MSG_TRUNC) is dropped and counted (rx_truncated). With GRO on (d->gro), each read
 * also gets its control-message buffer, a read whose control message was cut (MSG_CTRUNC) is dropped
 * and counted (rx_ctrunc), and gso_sizes[i] records the datagram size the kernel reported (udp_gro.c).
 */
static int udp_read_burst(fl_dev *d) {
  const int gro = d->gro;
  for (uint32_t i = 0; i < d->burst; i++) {
    struct msghdr *h = &d->rmsgs[i].msg_hdr;
    h->msg_namelen = sizeof(struct sockaddr_in);
    h->msg_flags = 0;
    if (gro) {
      h->msg_control = d->rcmsg + (size_t)i * FL_GRO_CMSG_SPACE;
      h->msg_controllen = FL_GRO_CMSG_SPACE;
    }
    d->rmsgs[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(d->fd, d->rmsgs, d->burst, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      d->rx_errors++;
      d->last_rx_errno = errno;
    }
    return 0;
  }
  /* Compact: drop the reads counted above, moving later ones down (rare). */
  int out = 0;
  for (int i = 0; i < n; i++) {
    struct msghdr *h = &d->rmsgs[i].msg_hdr;
    if (h->msg_flags & MSG_TRUNC) {
      d->rx_truncated++;
      continue;
    }
    if (gro && (h->msg_flags & MSG_CTRUNC)) {
      d->rx_ctrunc++;
      continue;
    }
    if (out != i) {
      memmove(d->slab + (size_t)out * d->slot_size + d->headroom, d->slab + (size_t)i * d->slot_size + d->headroom,
              d->rmsgs[i].msg_len);
    }
    d->lens[out] = (int32_t)d->rmsgs[i].msg_len;
    d->addrs[out] = ntohl(d->raddr[i].sin_addr.s_addr);
    d->ports[out] = ntohs(d->raddr[i].sin_port);
    if (gro) d->gso_sizes[out] = udp_gro_size(h);
    out++;
  }
  return out; /* 0 when every read was dropped: the level-triggered watcher fires again */
}

static void udp_set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

/* A UDP socket bound to addr:port (host order) with DF clear; returns the fd or -1 with errno set. */
static int udp_bound_socket(uint32_t addr, uint32_t port, int snd_bytes, int rcv_bytes, uint16_t *bound) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  udp_set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcv_bytes);
  udp_set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, snd_bytes);
  /* DF clear on the outer header, as the kernel's VXLAN device (and so flannel) sends: the data path
   * already keeps inner packets within the path MTU. */
  int pmtu = IP_PMTUDISC_DONT;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons((uint16_t)port);
  socklen_t salen = sizeof(sa);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  *bound = ntohs(sa.sin_port);
  return fd;
}

/* A pool socket: send-only, so a BPF filter drops everything and the receive buffer is minimal. */
static int udp_pool_socket(uint32_t addr, int snd_bytes, uint16_t *bound) {
  int fd = udp_bound_socket(addr, 0, snd_bytes, 0, bound);
  if (fd < 0) return -1;
  struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
  struct sock_fprog prog = {1, &drop_all};
  int tiny = 1; /* the kernel rounds it up to its minimum */
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  uint8_t scratch[1]; /* whatever arrived before the filter was attached */
  while (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  return fd;
}

/* Does this kernel know UDP_SEGMENT (Linux 4.18+)? wireguard-go probes the same way. */
static int udp_gso_supported(int fd) {
  int v = 0;
  socklen_t l = sizeof(v);
  return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
}

static int udp_alloc_queue(fl_dev *d, uint32_t slots, uint32_t slot_size) {
  d->sq_cap = slots;
  d->sq_slot = slot_size;
  d->sq_buf = (uint8_t *)malloc((size_t)slots * slot_size);
  d->siov = (struct iovec *)calloc(slots, sizeof(struct iovec));
  d->saddr = (struct sockaddr_in *)calloc(slots, sizeof(struct sockaddr_in));
  d->sq_sock = (uint16_t *)calloc(slots, sizeof(uint16_t));
  d->gmsgs = (struct mmsghdr *)calloc(slots, sizeof(struct mmsghdr));
  d->gcmsg = (uint8_t *)calloc(slots, FL_GSO_CMSG_SPACE);
  d->gfirst = (uint32_t *)calloc(slots, sizeof(uint32_t));
  d->gcount = (uint32_t *)calloc(slots, sizeof(uint32_t));
  if (!d->sq_buf || !d->siov || !d->saddr || !d->sq_sock || !d->gmsgs || !d->gcmsg || !d->gfirst || !d->gcount)
    return 0;
  for (uint32_t i = 0; i < slots; i++) d->siov[i].iov_base = d->sq_buf + (size_t)i * slot_size;
  return 1;
}

napi_value fl_udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  uint32_t addr, port, buf_bytes, send_slots, slot_size, pool_size = 0;
  bool want_gso = true, want_gro = false;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return fl_throw_type(env, "udpOpen(addr, port, bufBytes, sendSlots, slotSize[, poolSize[, gso]])");
  if (!fl_arg_u32(env, argv[0], &addr, "addr") || !fl_arg_u32(env, argv[1], &port, "port") ||
      !fl_arg_u32(env, argv[2], &buf_bytes, "bufBytes") || !fl_arg_u32(env, argv[3], &send_slots, "sendSlots") ||
      !fl_arg_u32(env, argv[4], &slot_size, "slotSize"))
    return NULL;
  if (argc >= 6 && !fl_arg_u32(env, argv[5], &pool_size, "poolSize")) return NULL;
  if (argc >= 7 && napi_get_value_bool(env, argv[6], &want_gso) != napi_ok)
    return fl_throw_type(env, "udpOpen: gso must be a boolean");
  if (argc >= 8 && napi_get_value_bool(env, argv[7], &want_gro) != napi_ok)
    return fl_throw_type(env, "udpOpen: gro must be a boolean");
  if (port > 65535) return fl_throw_type(env, "udpOpen: port must be 0..65535");
  if (pool_size > FL_POOL_MAX) return fl_throw_type(env, "udpOpen: poolSize must be 0..256");
  if (send_slots == 0 || send_slots > 1024 || slot_size == 0 || slot_size > 65536)
    return fl_throw_type(env, "udpOpen: sendSlots must be 1..1024 and slotSize 1..65536");
  if (buf_bytes > 0x7fffffff) buf_bytes = 0x7fffffff;

  uint16_t bound = 0;
  int fd = udp_bound_socket(addr, port, (int)buf_bytes, (int)buf_bytes, &bound);
  if (fd < 0) return fl_throw_errno(env, errno, "cannot bind the UDP socket");
  fl_dev *d = fl_dev_new(env, FL_UDP, fd);
  if (!d) {
    close(fd);
    return fl_throw_errno(env, ENOMEM, "cannot allocate the UDP socket state");
  }
  d->read_burst = udp_read_burst;
  d->local_addr = addr;
  d->gso_ok = udp_gso_supported(fd);
  d->gso = d->gso_ok && want_gso;
  d->gso_max_seg = FL_MAX_UDP;
  d->gro_ok = udp_gro_probe(fd);
  d->gro = d->gro_ok && want_gro && udp_gro_enable(fd);
  napi_value handle = fl_dev_wrap(env, d); /* frees d (and the fd) itself on failure */
  if (!handle) return NULL;
  if (!udp_alloc_queue(d, send_slots, slot_size)) {
    fl_dev_close(d);
    return fl_throw_errno(env, ENOMEM, "cannot allocate the UDP send queue");
  }
  if (pool_size > 0) {
    d->pool_fds = (int *)malloc(pool_size * sizeof(int));
    d->pool_ports = (uint16_t *)calloc(pool_size, sizeof(uint16_t));
    if (!d->pool_fds || !d->pool_ports) {
      fl_dev_close(d);
      return fl_throw_errno(env, ENOMEM, "cannot allocate the source-port pool");
    }
    for (uint32_t i = 0; i < pool_size; i++) {
      int pfd = udp_pool_socket(addr, (int)buf_bytes, &d->pool_ports[i]);
      if (pfd < 0) {
        int err = errno;
        fl_dev_close(d);
        return fl_throw_errno(env, err, "cannot open the source-port pool's UDP sockets");
      }
      d->pool_fds[d->pool_n++] = pfd;
    }
  }
  napi_value result, bound_v, ports_v, gso_v, gro_v, gro_ok_v;
  FL_CALL(env, napi_create_uint32(env, bound, &bound_v));
  FL_CALL(env, napi_create_array_with_length(env, d->pool_n, &ports_v));
  for (uint32_t i = 0; i < d->pool_n; i++) {
    napi_value p;
    FL_CALL(env, napi_create_uint32(env, d->pool_ports[i], &p));
    FL_CALL(env, napi_set_element(env, ports_v, i, p));
  }
  FL_CALL(env, napi_get_boolean(env, d->gso != 0, &gso_v));
  FL_CALL(env, napi_get_boolean(env, d->gro != 0, &gro_v));
  FL_CALL(env, napi_get_boolean(env, d->gro_ok != 0, &gro_ok_v));
  FL_CALL(env, napi_create_array_with_length(env, 6, &result));
  FL_CALL(env, napi_set_element(env, result, 0, handle));
  FL_CALL(env, napi_set_element(env, result, 1, bound_v));
  FL_CALL(env, napi_set_element(env, result, 2, ports_v));
  FL_CALL(env, napi_set_element(env, result, 3, gso_v));
  FL_CALL(env, napi_set_element(env, result, 4, gro_v));
  FL_CALL(env, napi_set_element(env, result, 5, gro_ok_v));
  return result;
}

napi_value fl_udp_start(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  uint32_t slot, headroom, burst;
  void *ap, *pp, *gp = NULL;
  size_t na, np, ng = 0;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return fl_throw_type(env, "udpStart(handle, slab, lens, addrs, ports, slotSize, headroom, burst, onBurst)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (d->closed) return fl_throw_errno(env, EBADF, "udpStart: the socket is closed");
  if (d->started) return fl_throw_type(env, "udpStart: already started");
  if (!fl_arg_u32(env, argv[5], &slot, "slotSize") || !fl_arg_u32(env, argv[6], &headroom, "headroom") ||
      !fl_arg_u32(env, argv[7], &burst, "burst"))
    return NULL;
  if (!fl_arg_typed(env, argv[3], napi_uint32_array, &ap, &na, "addrs") ||
      !fl_arg_typed(env, argv[4], napi_uint16_array, &pp, &np, "ports"))
    return NULL;
  if (na < burst || np < burst) return fl_throw_type(env, "udpStart: addrs/ports shorter than burst");
  if (d->gro) {
    if (argc < 10 || !fl_arg_typed(env, argv[9], napi_uint16_array, &gp, &ng, "gsoSizes")) return NULL;
    if (ng < burst) return fl_throw_type(env, "udpStart: gsoSizes shorter than burst");
  }
  if (!fl_dev_set_slab(env, d, argv[1], argv[2], slot, headroom, burst)) return NULL;
  if (napi_create_reference(env, argv[3], 1, &d->addrs_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &d->ports_ref) != napi_ok)
    return fl_throw_type(env, "internal N-API failure: napi_create_reference");
  d->addrs = (uint32_t *)ap;
  d->ports = (uint16_t *)pp;
  if (d->gro) {
    if (napi_create_reference(env, argv[9], 1, &d->gso_sizes_ref) != napi_ok)
      return fl_throw_type(env, "internal N-API failure: napi_create_reference");
    d->gso_sizes = (uint16_t *)gp;
    d->rcmsg = (uint8_t *)calloc(burst, FL_GRO_CMSG_SPACE);
    if (!d->rcmsg) return fl_throw_errno(env, ENOMEM, "udpStart: out of memory");
  }
  d->rmsgs = (struct mmsghdr *)calloc(burst, sizeof(struct mmsghdr));
  d->riov = (struct iovec *)calloc(burst, sizeof(struct iovec));
  d->raddr = (struct sockaddr_in *)calloc(burst, sizeof(struct sockaddr_in));
  if (!d->rmsgs || !d->riov || !d->raddr) return fl_throw_errno(env, ENOMEM, "udpStart: out of memory");
  for (uint32_t i = 0; i < burst; i++) {
    d->riov[i].iov_base = d->slab + (size_t)i * slot + headroom;
    d->riov[i].iov_len = slot - headroom;
    d->rmsgs[i].msg_hdr.msg_iov = &d->riov[i];
    d->rmsgs[i].msg_hdr.msg_iovlen = 1;
    d->rmsgs[i].msg_hdr.msg_name = &d->raddr[i];
  }
  if (fl_dev_start(env, d, argv[8], "flannelette.udp") != napi_ok)
    return fl_throw_errno(env, EIO, "udpStart: cannot watch the socket");
  return NULL;
}

static void udp_count_error(fl_dev *d, int err, double n) {
  d->last_tx_errno = err;
  if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) d->tx_drops += n;
  else d->tx_errors += n;
}

static int udp_sock_fd(fl_dev *d, uint16_t sock) { return sock == 0 ? d->fd : d->pool_fds[sock - 1]; }

static int udp_same_dst(const fl_dev *d, uint32_t i, uint32_t j) {
  return d->saddr[i].sin_addr.s_addr == d->saddr[j].sin_addr.s_addr && d->saddr[i].sin_port == d->saddr[j].sin_port;
}

/*
 * Builds the messages for entries [start, end) (one socket), at most sq_cap: a GSO train groups
 * consecutive entries to one destination of one size (the last may be shorter). Returns how many.
 */
static uint32_t udp_build_messages(fl_dev *d, uint32_t start, uint32_t end) {
  uint32_t nm = 0, i = start;
  while (i < end && nm < d->sq_cap) {
    uint32_t j = i + 1;
    size_t seg = d->siov[i].iov_len;
    if (d->gso && seg > 0 && seg <= d->gso_max_seg) {
      size_t total = seg;
      while (j < end && j - i < FL_GSO_MAX_SEGS && udp_same_dst(d, i, j) && d->siov[j].iov_len > 0 &&
             d->siov[j].iov_len <= seg && total + d->siov[j].iov_len <= FL_MAX_UDP) {
        total += d->siov[j].iov_len;
        if (d->siov[j++].iov_len < seg) break; /* a shorter datagram ends the train */
      }
    }
    struct msghdr *h = &d->gmsgs[nm].msg_hdr;
    memset(h, 0, sizeof(*h));
    h->msg_name = &d->saddr[i];
    h->msg_namelen = sizeof(struct sockaddr_in);
    h->msg_iov = &d->siov[i];
    h->msg_iovlen = j - i;
    if (j - i > 1) {
      uint8_t *buf = d->gcmsg + (size_t)nm * FL_GSO_CMSG_SPACE;
      memset(buf, 0, FL_GSO_CMSG_SPACE);
      h->msg_control = buf;
      h->msg_controllen = FL_GSO_CMSG_SPACE;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t gso_size = (uint16_t)seg;
      memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
    }
    d->gfirst[nm] = i;
    d->gcount[nm] = j - i;
    nm++;
    i = j;
  }
  return nm;
}

/* Sends entries [start, end), all for socket fd, in order; returns how many datagrams were accepted. */
static uint32_t udp_send_run(fl_dev *d, int fd, uint32_t start, uint32_t end) {
  uint32_t sent = 0;
  while (start < end && !d->closed) {
    uint32_t nm = udp_build_messages(d, start, end);
    int r = sendmmsg(fd, d->gmsgs, nm, MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; k++) {
        uint32_t c = d->gcount[k];
        sent += c;
        if (c > 1) {
          d->tx_gso_sends++;
          d->tx_gso_segments += c;
        }
      }
      start = (uint32_t)r < nm ? d->gfirst[r] : d->gfirst[nm - 1] + d->gcount[nm - 1];
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    int err = r < 0 ? errno : EAGAIN;
    uint32_t count = d->gcount[0];
    if (count > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE || err == EOPNOTSUPP || err == ENOPROTOOPT)) {
      /* the kernel refused the train: never again for this socket (EIO…) or this size (EINVAL, EMSGSIZE) */
      d->gso_fallbacks++;
      if (err == EINVAL || err == EMSGSIZE) d->gso_max_seg = (uint32_t)d->siov[start].iov_len - 1;
      else d->gso = 0;
      continue; /* rebuilt: the same entries as single datagrams */
    }
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      /* this socket's buffer is full: the rest of the run is dropped */
      udp_count_error(d, err, (double)(end - start));
      return sent;
    }
    /* an error that belongs to one message (e.g. EHOSTUNREACH): drop it, send the rest */
    udp_count_error(d, err, (double)count);
    start += count;
  }
  if (start < end) d->tx_errors += (double)(end - start);
  return sent;
}

/* Sends the queued datagrams in order, one run of sendmmsg calls per socket; returns how many the kernel accepted. */
uint32_t fl_udp_flush_queue(fl_dev *d) {
  uint32_t start = 0, sent = 0, n = d->sq_len;
  while (start < n && !d->closed) {
    uint16_t sock = d->sq_sock[start];
    uint32_t end = start + 1;
    while (end < n && d->sq_sock[end] == sock) end++;
    sent += udp_send_run(d, udp_sock_fd(d, sock), start, end);
    start = end;
  }
  if (start < n && d->closed) d->tx_errors += (double)(n - start);
  d->tx_packets += sent;
  d->sq_len = 0;
  return sent;
}

/* The optional srcPort argument: 0 when absent/undefined, -1 when not an integer in 0..65535. */
static int32_t udp_src_port_arg(napi_env env, size_t argc, napi_value *argv) {
  if (argc < 7) return 0;
  napi_valuetype t;
  double x;
  if (napi_typeof(env, argv[6], &t) != napi_ok) return -1;
  if (t == napi_undefined) return 0;
  if (t != napi_number || napi_get_value_double(env, argv[6], &x) != napi_ok) return -1;
  if (!(x >= 0 && x <= 65535) || x != (double)(int32_t)x) return -1;
  return (int32_t)x;
}

/* Sends one datagram larger than a queue slot directly (after the queue, to keep the order). */
static bool udp_send_direct(fl_dev *d, int fd, const uint8_t *payload, size_t n, uint32_t addr, uint32_t port) {
  fl_udp_flush_queue(d);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons((uint16_t)port);
  ssize_t w;
  do {
    w = sendto(fd, payload, n, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
  } while (w < 0 && errno == EINTR);
  if (w < 0) {
    udp_count_error(d, errno, 1);
    return false;
  }
  d->tx_packets++;
  return true;
}

napi_value fl_udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], result;
  uint8_t *data;
  size_t len;
  int32_t off, n;
  uint32_t addr, port;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return fl_throw_type(env, "udpSend(handle, buf, off, len, addr, port[, srcPort])");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (!fl_arg_bytes(env, argv[1], &data, &len, "buf") || !fl_arg_i32(env, argv[2], &off, "off") ||
      !fl_arg_i32(env, argv[3], &n, "len") || !fl_arg_u32(env, argv[4], &addr, "addr") ||
      !fl_arg_u32(env, argv[5], &port, "port"))
    return NULL;
  int32_t sport = udp_src_port_arg(env, argc, argv);
  bool ok = false;
  if (d->closed) {
    d->tx_errors++;
  } else if (off < 0 || n < 0 || (size_t)off + (size_t)n > len || n > FL_MAX_UDP || port == 0 || port > 65535 ||
             sport < 0) {
    d->tx_too_big++;
  } else {
    uint16_t sock = sport > 0 && d->pool_n > 0 ? (uint16_t)(1 + (uint32_t)sport % d->pool_n) : 0;
    const uint8_t *payload = data + off;
    if ((uint32_t)n > d->sq_slot) {
      ok = udp_send_direct(d, udp_sock_fd(d, sock), payload, (size_t)n, addr, port);
    } else {
      if (d->sq_len == d->sq_cap) fl_udp_flush_queue(d);
      uint32_t i = d->sq_len++;
      memcpy(d->siov[i].iov_base, payload, (size_t)n);
      d->siov[i].iov_len = (size_t)n;
      d->saddr[i].sin_family = AF_INET;
      d->saddr[i].sin_addr.s_addr = htonl(addr);
      d->saddr[i].sin_port = htons((uint16_t)port);
      d->sq_sock[i] = sock;
      ok = true;
    }
  }
  FL_CALL(env, napi_get_boolean(env, ok, &result));
  return result;
}

napi_value fl_udp_flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return fl_throw_type(env, "udpFlush(handle)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  uint32_t sent = d->closed ? 0 : fl_udp_flush_queue(d);
  FL_CALL(env, napi_create_uint32(env, sent, &result));
  return result;
}
