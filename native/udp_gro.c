/*
 * UDP GRO on the receiving socket (Linux 5.0+): with the UDP_GRO socket option the kernel may hand
 * one read a run of datagrams from one sender, all of one size but the last, glued together (a GRO
 * aggregate, or a UDP GSO train from the peer that crossed the veth unsegmented), and says the
 * datagram size in a UDP_GRO control message. Here the burst read only records each read's length,
 * source and that size (gso_sizes[i], 0 = a single datagram); the split into datagrams is done by
 * the caller (src/underlay/gro-split.ts), so every datagram is still checked and counted on its own.
 *
 * udp_gro_probe(fd)  -> 1 when the kernel knows UDP_GRO (getsockopt), else 0.
 * udp_gro_enable(fd) -> 1 when setsockopt(UDP_GRO, 1) succeeded, else 0 (errno kept).
 * udp_gro_read_burst(d) the read_burst of a socket with GRO on: up to d->burst reads of up to one
 *     slot each; a read with MSG_TRUNC (larger than a slot) or MSG_CTRUNC (its size lost) is dropped
 *     and counted (rx_truncated / rx_ctrunc). Returns how many reads are in the slab.
 */
#include "dev.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

int udp_gro_probe(int fd) {
  int v = 0;
  socklen_t l = sizeof(v);
  return getsockopt(fd, SOL_UDP, UDP_GRO, &v, &l) == 0;
}

int udp_gro_enable(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

/* The datagram size the kernel reported for this read (0: not coalesced). */
static uint16_t udp_gro_size(struct msghdr *h) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 && size <= 65535 ? (uint16_t)size : 0;
    }
  }
  return 0;
}

int udp_gro_read_burst(fl_dev *d) {
  for (uint32_t i = 0; i < d->burst; i++) {
    struct msghdr *h = &d->rmsgs[i].msg_hdr;
    h->msg_namelen = sizeof(struct sockaddr_in);
    h->msg_flags = 0;
    h->msg_control = d->rcmsg + (size_t)i * FL_GRO_CMSG_SPACE;
    h->msg_controllen = FL_GRO_CMSG_SPACE;
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
  int out = 0;
  for (int i = 0; i < n; i++) {
    struct msghdr *h = &d->rmsgs[i].msg_hdr;
    if (h->msg_flags & MSG_TRUNC) {
      d->rx_truncated++;
      continue;
    }
    if (h->msg_flags & MSG_CTRUNC) {
      d->rx_ctrunc++;
      continue;
    }
    uint16_t size = udp_gro_size(h);
    if (out != i) {
      memmove(d->slab + (size_t)out * d->slot_size + d->headroom, d->slab + (size_t)i * d->slot_size + d->headroom,
              d->rmsgs[i].msg_len);
    }
    d->lens[out] = (int32_t)d->rmsgs[i].msg_len;
    d->addrs[out] = ntohl(d->raddr[i].sin_addr.s_addr);
    d->ports[out] = ntohs(d->raddr[i].sin_port);
    d->gso_sizes[out] = size;
    out++;
  }
  return out;
}
