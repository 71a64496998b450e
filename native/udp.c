/*
 * A non-blocking IPv4 UDP socket with batched I/O: recvmmsg bursts through dev.c, and a bounded,
 * preallocated send queue flushed with sendmmsg.
 *
 * udpOpen(addr, port, bufBytes, sendSlots, slotSize[, rawSend]) -> [handle, boundPort, rawOpened, rawErrno]
 *     throws Error{code: EADDRINUSE|EADDRNOTAVAIL|EACCES|...}
 *     rawSend (default false): also open the raw send socket (below). Failing to open it (EPERM
 *     without CAP_NET_RAW, or addr 0.0.0.0: EADDRNOTAVAIL) never throws: rawOpened = false, rawErrno
 *     says why, and every datagram leaves from the bound socket.
 * udpStart(handle, slab, lens, addrs, ports, slotSize, headroom, burst, onBurst(count))
 * udpSend(handle, buf, off, len, addr, port[, srcPort]) -> boolean  copies into the queue (the caller
 *     may reuse its buffer at once); flushes first when the queue is full; datagrams larger than a
 *     queue slot are sent at once. false = dropped and counted; never throws per packet.
 *     srcPort 1..65535 (with the raw socket open): the datagram leaves from that UDP source port;
 *     absent/0 (or no raw socket): from the bound socket. A srcPort outside 0..65535 is refused.
 * udpFlush(handle) -> number of datagrams the kernel accepted; EAGAIN/ENOBUFS drop the rest of a run
 *     (counted). Queue entries keep their order: runs for the same socket go out in one sendmmsg.
 *
 * The raw send socket: socket(AF_INET, SOCK_RAW, IPPROTO_UDP) bound to addr. The kernel writes the
 * IPv4 header (same TTL, DF/PMTU discovery and fragmentation defaults as the UDP socket); we write
 * the 8-byte UDP header with a full checksum over the pseudo-header (as the kernel's VXLAN device
 * sends). It is never read: a BPF filter (`ret #0`) drops every packet the kernel would copy to it,
 * and its receive buffer is minimal.
 */
#include "dev.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FL_MAX_UDP 65507
#define FL_UDP_HDR 8

/* Adds the bytes p[0, len) to a ones' complement sum of native-order 16-bit words (RFC 1071). */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len) {
  while (len >= 16) {
    uint32_t a, b, c, e;
    memcpy(&a, p, 4);
    memcpy(&b, p + 4, 4);
    memcpy(&c, p + 8, 4);
    memcpy(&e, p + 12, 4);
    sum += (uint64_t)a + b + c + e;
    p += 16;
    len -= 16;
  }
  while (len >= 4) {
    uint32_t a;
    memcpy(&a, p, 4);
    sum += a;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t a;
    memcpy(&a, p, 2);
    sum += a;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t last[2] = {p[0], 0};
    uint16_t a;
    memcpy(&a, last, 2);
    sum += a;
  }
  return sum;
}

/*
 * Writes the UDP header for a datagram from src:sport to dst:dport (addresses host order) carrying
 * data[0, len) into hdr[0, 8), checksum included (0 is sent as 0xffff, RFC 768).
 */
static void udp_write_header(uint8_t *hdr, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                             const uint8_t *data, size_t len) {
  uint16_t ulen = (uint16_t)(FL_UDP_HDR + len);
  uint8_t pseudo[12] = {(uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src,
                        (uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst,
                        0, IPPROTO_UDP, (uint8_t)(ulen >> 8), (uint8_t)ulen};
  hdr[0] = (uint8_t)(sport >> 8);
  hdr[1] = (uint8_t)sport;
  hdr[2] = (uint8_t)(dport >> 8);
  hdr[3] = (uint8_t)dport;
  hdr[4] = (uint8_t)(ulen >> 8);
  hdr[5] = (uint8_t)ulen;
  hdr[6] = 0;
  hdr[7] = 0;
  uint64_t sum = csum_add(0, pseudo, sizeof(pseudo));
  sum = csum_add(sum, hdr, FL_UDP_HDR);
  sum = csum_add(sum, data, len);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  uint16_t csum = (uint16_t)~sum;
  if (csum == 0) csum = 0xffff;
  memcpy(hdr + 6, &csum, 2); /* the sum was over native-order words: store as is */
}

/* Opens the raw send socket bound to addr (host order); returns the fd, or -1 with *err set. */
static int udp_open_raw(uint32_t addr, int snd_bytes, int *err) {
  if (addr == 0) {
    *err = EADDRNOTAVAIL; /* the checksum needs a fixed source address */
    return -1;
  }
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
  struct sock_fprog prog = {1, &drop_all};
  int tiny = 1; /* the kernel rounds it up to its minimum */
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  int pmtu = IP_PMTUDISC_DONT; /* DF clear, as the kernel's VXLAN device sends */
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) < 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  if (snd_bytes > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd_bytes, sizeof(snd_bytes)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd_bytes, sizeof(snd_bytes));
  /* drop whatever arrived before the filter was attached */
  uint8_t scratch[1];
  while (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  *err = 0;
  return fd;
}

static int udp_read_burst(fl_dev *d) {
  for (uint32_t i = 0; i < d->burst; i++) {
    d->rmsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    d->rmsgs[i].msg_hdr.msg_flags = 0;
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
  /* Compact: drop truncated datagrams (larger than a slot), moving later ones down (rare). */
  int out = 0;
  for (int i = 0; i < n; i++) {
    struct msghdr *h = &d->rmsgs[i].msg_hdr;
    if (h->msg_flags & MSG_TRUNC) {
      d->rx_truncated++;
      continue;
    }
    if (out != i) {
      memmove(d->slab + (size_t)out * d->slot_size + d->headroom, d->slab + (size_t)i * d->slot_size + d->headroom,
              d->rmsgs[i].msg_len);
    }
    d->lens[out] = (int32_t)d->rmsgs[i].msg_len;
    d->addrs[out] = ntohl(d->raddr[i].sin_addr.s_addr);
    d->ports[out] = ntohs(d->raddr[i].sin_port);
    out++;
  }
  return out; /* 0 when every datagram was truncated: the level-triggered watcher fires again */
}

static void udp_set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

napi_value fl_udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  uint32_t addr, port, buf_bytes, send_slots, slot_size;
  bool raw_send = false;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return fl_throw_type(env, "udpOpen(addr, port, bufBytes, sendSlots, slotSize[, rawSend])");
  if (argc >= 6 && napi_get_value_bool(env, argv[5], &raw_send) != napi_ok)
    return fl_throw_type(env, "udpOpen: rawSend must be a boolean");
  if (!fl_arg_u32(env, argv[0], &addr, "addr") || !fl_arg_u32(env, argv[1], &port, "port") ||
      !fl_arg_u32(env, argv[2], &buf_bytes, "bufBytes") || !fl_arg_u32(env, argv[3], &send_slots, "sendSlots") ||
      !fl_arg_u32(env, argv[4], &slot_size, "slotSize"))
    return NULL;
  if (port > 65535) return fl_throw_type(env, "udpOpen: port must be 0..65535");
  if (send_slots == 0 || send_slots > 1024 || slot_size == 0 || slot_size > 65536)
    return fl_throw_type(env, "udpOpen: sendSlots must be 1..1024 and slotSize 1..65536");
  if (buf_bytes > 0x7fffffff) buf_bytes = 0x7fffffff;

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fl_throw_errno(env, errno, "cannot create a UDP socket");
  udp_set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)buf_bytes);
  udp_set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)buf_bytes);
  /* DF clear on the outer header, as the kernel's VXLAN device (and so flannel) sends: the data path
   * already keeps inner packets within the path MTU. */
  int pmtu = IP_PMTUDISC_DONT;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));

  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons((uint16_t)port);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int err = errno;
    close(fd);
    return fl_throw_errno(env, err, "cannot bind the UDP socket");
  }
  socklen_t salen = sizeof(sa);
  if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
    int err = errno;
    close(fd);
    return fl_throw_errno(env, err, "getsockname failed");
  }

  fl_dev *d = fl_dev_new(env, FL_UDP, fd);
  if (!d) {
    close(fd);
    return fl_throw_errno(env, ENOMEM, "cannot allocate the UDP socket state");
  }
  d->read_burst = udp_read_burst;
  d->local_addr = addr;
  d->sq_cap = send_slots;
  d->sq_slot = slot_size;
  d->sq_buf = (uint8_t *)malloc((size_t)send_slots * slot_size);
  d->smsgs = (struct mmsghdr *)calloc(send_slots, sizeof(struct mmsghdr));
  d->siov = (struct iovec *)calloc(2 * (size_t)send_slots, sizeof(struct iovec));
  d->saddr = (struct sockaddr_in *)calloc(send_slots, sizeof(struct sockaddr_in));
  d->sq_raw = (uint8_t *)calloc(send_slots, 1);
  d->shdr = (uint8_t *)calloc(send_slots, FL_UDP_HDR);
  napi_value handle = fl_dev_wrap(env, d); /* frees d (and the fd) itself on failure */
  if (!handle) return NULL;
  if (!d->sq_buf || !d->smsgs || !d->siov || !d->saddr || !d->sq_raw || !d->shdr) {
    fl_dev_close(d);
    return fl_throw_errno(env, ENOMEM, "cannot allocate the UDP send queue");
  }
  for (uint32_t i = 0; i < send_slots; i++) {
    d->siov[2 * i].iov_base = d->shdr + (size_t)i * FL_UDP_HDR;
    d->siov[2 * i].iov_len = FL_UDP_HDR;
    d->siov[2 * i + 1].iov_base = d->sq_buf + (size_t)i * slot_size;
    d->smsgs[i].msg_hdr.msg_iov = &d->siov[2 * i + 1];
    d->smsgs[i].msg_hdr.msg_iovlen = 1;
    d->smsgs[i].msg_hdr.msg_name = &d->saddr[i];
    d->smsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
  }
  if (raw_send) {
    d->raw_fd = udp_open_raw(addr, (int)buf_bytes, &d->raw_errno);
    d->raw_ok = d->raw_fd >= 0;
  }
  napi_value result, bound, raw_opened, raw_err;
  FL_CALL(env, napi_create_uint32(env, ntohs(sa.sin_port), &bound));
  FL_CALL(env, napi_get_boolean(env, d->raw_ok != 0, &raw_opened));
  FL_CALL(env, napi_create_int32(env, d->raw_errno, &raw_err));
  FL_CALL(env, napi_create_array_with_length(env, 4, &result));
  FL_CALL(env, napi_set_element(env, result, 0, handle));
  FL_CALL(env, napi_set_element(env, result, 1, bound));
  FL_CALL(env, napi_set_element(env, result, 2, raw_opened));
  FL_CALL(env, napi_set_element(env, result, 3, raw_err));
  return result;
}

napi_value fl_udp_start(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  uint32_t slot, headroom, burst;
  void *ap, *pp;
  size_t na, np;
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
  if (!fl_dev_set_slab(env, d, argv[1], argv[2], slot, headroom, burst)) return NULL;
  if (napi_create_reference(env, argv[3], 1, &d->addrs_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &d->ports_ref) != napi_ok)
    return fl_throw_type(env, "internal N-API failure: napi_create_reference");
  d->addrs = (uint32_t *)ap;
  d->ports = (uint16_t *)pp;
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

/*
 * Sends the queued datagrams in order, one sendmmsg per run of entries for the same socket; returns
 * how many the kernel accepted.
 */
uint32_t fl_udp_flush_queue(fl_dev *d) {
  uint32_t start = 0, sent = 0, n = d->sq_len;
  while (start < n && !d->closed) {
    uint8_t raw = d->sq_raw[start];
    uint32_t end = start + 1;
    while (end < n && d->sq_raw[end] == raw) end++;
    int fd = raw ? d->raw_fd : d->fd;
    int r = sendmmsg(fd, d->smsgs + start, end - start, MSG_DONTWAIT);
    if (r > 0) {
      start += (uint32_t)r;
      sent += (uint32_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    int err = r < 0 ? errno : EAGAIN;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      /* this socket's buffer is full: the rest of the run is dropped */
      udp_count_error(d, err, (double)(end - start));
      start = end;
      continue;
    }
    /* an error that belongs to one datagram (e.g. EHOSTUNREACH): drop it, send the rest */
    udp_count_error(d, err, 1);
    start++;
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
    bool raw = sport > 0 && d->raw_fd >= 0;
    const uint8_t *payload = data + off;
    if ((uint32_t)n > d->sq_slot) {
      /* larger than a queue slot: keep the order, then send this one directly */
      fl_udp_flush_queue(d);
      struct sockaddr_in sa;
      memset(&sa, 0, sizeof(sa));
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = htonl(addr);
      sa.sin_port = raw ? 0 : htons((uint16_t)port);
      uint8_t hdr[FL_UDP_HDR];
      struct iovec iov[2] = {{hdr, FL_UDP_HDR}, {(void *)payload, (size_t)n}};
      struct msghdr mh;
      memset(&mh, 0, sizeof(mh));
      mh.msg_name = &sa;
      mh.msg_namelen = sizeof(sa);
      mh.msg_iov = raw ? iov : iov + 1;
      mh.msg_iovlen = raw ? 2 : 1;
      if (raw) udp_write_header(hdr, d->local_addr, addr, (uint16_t)sport, (uint16_t)port, payload, (size_t)n);
      ssize_t w;
      do {
        w = sendmsg(raw ? d->raw_fd : d->fd, &mh, MSG_DONTWAIT);
      } while (w < 0 && errno == EINTR);
      if (w >= 0) {
        ok = true;
        d->tx_packets++;
      } else {
        udp_count_error(d, errno, 1);
      }
    } else {
      if (d->sq_len == d->sq_cap) fl_udp_flush_queue(d);
      uint32_t i = d->sq_len++;
      struct iovec *body = &d->siov[2 * i + 1];
      memcpy(body->iov_base, payload, (size_t)n);
      body->iov_len = (size_t)n;
      d->saddr[i].sin_family = AF_INET;
      d->saddr[i].sin_addr.s_addr = htonl(addr);
      d->sq_raw[i] = raw;
      if (raw) {
        d->saddr[i].sin_port = 0; /* a raw socket takes the port from our UDP header */
        udp_write_header((uint8_t *)d->siov[2 * i].iov_base, d->local_addr, addr, (uint16_t)sport, (uint16_t)port,
                         payload, (size_t)n);
        d->smsgs[i].msg_hdr.msg_iov = &d->siov[2 * i];
        d->smsgs[i].msg_hdr.msg_iovlen = 2;
      } else {
        d->saddr[i].sin_port = htons((uint16_t)port);
        d->smsgs[i].msg_hdr.msg_iov = body;
        d->smsgs[i].msg_hdr.msg_iovlen = 1;
      }
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
