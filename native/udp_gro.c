/*
 * UDP GRO on the receiving socket (Linux 5.0+): with the UDP_GRO socket option the kernel may hand
 * one read a run of datagrams from one sender, all of one size but the last, glued together (a GRO
 * aggregate, or a UDP GSO train from the peer that crossed the veth unsegmented), and says the
 * datagram size in a UDP_GRO control message. The burst read (udp.c's udp_read_burst, shared with
 * sockets without GRO) only records each read's length, source and that size (gso_sizes[i], 0 = a
 * single datagram); the split into datagrams is done by the caller (src/underlay/gro-split.ts), so
 * every datagram is still checked and counted on its own.
 *
 * udp_gro_probe(fd)  -> 1 when the kernel knows UDP_GRO (getsockopt), else 0.
 * udp_gro_enable(fd) -> 1 when setsockopt(UDP_GRO, 1) succeeded, else 0 (errno kept).
 * udp_gro_size(h)    -> the datagram size in a read's UDP_GRO control message (0: none, one datagram).
 */
#include "dev.h"
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
uint16_t udp_gro_size(struct msghdr *h) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 && size <= 65535 ? (uint16_t)size : 0;
    }
  }
  return 0;
}
