/*
 * A non-blocking IPv4 UDP socket with batched I/O: recvmmsg bursts through dev.c, and a bounded,
 * preallocated send queue flushed with sendmmsg.
 *
 * udpOpen(addr, port, bufBytes, sendSlots, slotSize) -> [handle, boundPort]
 *     throws Error{code: EADDRINUSE|EADDRNOTAVAIL|EACCES|...}
 * udpStart(handle, slab, lens, addrs, ports, slotSize, headroom, burst, onBurst(count))
 * udpSend(handle, buf, off, len, addr, port) -> boolean  copies into the queue (the caller may reuse
 *     its buffer at once); flushes first when the queue is full; datagrams larger than a queue slot
 *     are sent at once with sendto. false = dropped and counted; never throws per packet.
 * udpFlush(handle) -> number of datagrams the kernel accepted; EAGAIN/ENOBUFS drop the rest (counted)
 */
#include "dev.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FL_MAX_UDP 65507

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
  size_t argc = 5;
  napi_value argv[5];
  uint32_t addr, port, buf_bytes, send_slots, slot_size;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return fl_throw_type(env, "udpOpen(addr, port, bufBytes, sendSlots, slotSize)");
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
  d->sq_cap = send_slots;
  d->sq_slot = slot_size;
  d->sq_buf = (uint8_t *)malloc((size_t)send_slots * slot_size);
  d->smsgs = (struct mmsghdr *)calloc(send_slots, sizeof(struct mmsghdr));
  d->siov = (struct iovec *)calloc(send_slots, sizeof(struct iovec));
  d->saddr = (struct sockaddr_in *)calloc(send_slots, sizeof(struct sockaddr_in));
  napi_value handle = fl_dev_wrap(env, d); /* frees d (and the fd) itself on failure */
  if (!handle) return NULL;
  if (!d->sq_buf || !d->smsgs || !d->siov || !d->saddr) {
    fl_dev_close(d);
    return fl_throw_errno(env, ENOMEM, "cannot allocate the UDP send queue");
  }
  for (uint32_t i = 0; i < send_slots; i++) {
    d->siov[i].iov_base = d->sq_buf + (size_t)i * slot_size;
    d->smsgs[i].msg_hdr.msg_iov = &d->siov[i];
    d->smsgs[i].msg_hdr.msg_iovlen = 1;
    d->smsgs[i].msg_hdr.msg_name = &d->saddr[i];
    d->smsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
  }
  napi_value result, bound;
  FL_CALL(env, napi_create_uint32(env, ntohs(sa.sin_port), &bound));
  FL_CALL(env, napi_create_array_with_length(env, 2, &result));
  FL_CALL(env, napi_set_element(env, result, 0, handle));
  FL_CALL(env, napi_set_element(env, result, 1, bound));
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

/* Sends the queued datagrams; returns how many the kernel accepted. */
uint32_t fl_udp_flush_queue(fl_dev *d) {
  uint32_t start = 0, sent = 0, n = d->sq_len;
  while (start < n && !d->closed) {
    int r = sendmmsg(d->fd, d->smsgs + start, n - start, MSG_DONTWAIT);
    if (r > 0) {
      start += (uint32_t)r;
      sent += (uint32_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    int err = r < 0 ? errno : EAGAIN;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      /* the socket buffer is full: the rest of the queue is dropped */
      udp_count_error(d, err, (double)(n - start));
      break;
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

napi_value fl_udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  uint8_t *data;
  size_t len;
  int32_t off, n;
  uint32_t addr, port;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return fl_throw_type(env, "udpSend(handle, buf, off, len, addr, port)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (!fl_arg_bytes(env, argv[1], &data, &len, "buf") || !fl_arg_i32(env, argv[2], &off, "off") ||
      !fl_arg_i32(env, argv[3], &n, "len") || !fl_arg_u32(env, argv[4], &addr, "addr") ||
      !fl_arg_u32(env, argv[5], &port, "port"))
    return NULL;
  bool ok = false;
  if (d->closed) {
    d->tx_errors++;
  } else if (off < 0 || n < 0 || (size_t)off + (size_t)n > len || n > FL_MAX_UDP || port == 0 || port > 65535) {
    d->tx_too_big++;
  } else if ((uint32_t)n > d->sq_slot) {
    /* larger than a queue slot: keep the order, then send this one directly */
    fl_udp_flush_queue(d);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    sa.sin_port = htons((uint16_t)port);
    ssize_t w;
    do {
      w = sendto(d->fd, data + off, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
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
    memcpy(d->siov[i].iov_base, data + off, (size_t)n);
    d->siov[i].iov_len = (size_t)n;
    d->saddr[i].sin_family = AF_INET;
    d->saddr[i].sin_addr.s_addr = htonl(addr);
    d->saddr[i].sin_port = htons((uint16_t)port);
    ok = true;
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
