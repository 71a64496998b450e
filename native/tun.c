/*
 * A Linux TUN device (IFF_TUN | IFF_NO_PI): open, burst reads through dev.c, synchronous writes.
 *
 * tunOpen(name, want = 0) -> [handle, actualName, got]   throws Error{code: ENOENT|EPERM|EACCES|EBUSY|EINVAL|...}
 *     want/got bits: 1 = IFF_VNET_HDR with offloads asked for (every read and write then carries a
 *     10-byte virtio_net_hdr in front of the packet), 2 = IFF_NAPI (writes go through GRO);
 *     got only: 4 = TUNSETOFFLOAD accepted TUN_F_CSUM|TUN_F_TSO4 (reads may be TCP super-packets
 *     and carry partial checksums), 8 = only TUN_F_CSUM was accepted, 16 = the kernel knows
 *     TUN_F_USO4/USO6 (Linux 6.2+: it takes VIRTIO_NET_HDR_GSO_UDP_L4 writes; probed by setting them
 *     once, then set back to CSUM|TSO4 so reads stay what the read side splits). An option the kernel refuses
 *     is left off silently (see `got`).
 * tunStart(handle, slab, lens, slotSize, headroom, burst, onBurst(count))
 * tunWrite(handle, buf, off, len) -> boolean   false = dropped (queue full, device down, closed);
 *                                              never throws per packet (only on bad arguments)
 * tunWriteHdr(handle, hdr, buf, off, len) -> boolean   the same as one writev of the first 10 bytes
 *                                              of hdr (a virtio_net_hdr) and the packet
 */
#include "dev.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef TUN_F_USO4 /* linux/if_tun.h of Linux 6.2+; older headers lack them */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static int tun_read_burst(fl_dev *d) {
  uint32_t n = 0;
  while (n < d->burst && !d->closed) {
    uint8_t *slot = d->slab + (size_t)n * d->slot_size + d->headroom;
    ssize_t r = read(d->fd, slot, d->slot_size - d->headroom);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EBADFD || errno == EIO) {
        fl_dev_stop_reading(d, errno); /* the interface is gone */
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        d->rx_errors++;
        d->last_rx_errno = errno;
      }
      break;
    }
    if (r == 0) break;
    d->lens[n++] = (int32_t)r;
  }
  return (int)n;
}

napi_value fl_tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[IFNAMSIZ + 1];
  size_t name_len = 0;
  uint32_t want = 0, got = 0;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &name_len) != napi_ok)
    return fl_throw_type(env, "tunOpen(name): name must be a string");
  if (argc >= 2 && !fl_arg_u32(env, argv[1], &want, "want")) return NULL;
  if (name_len >= IFNAMSIZ) return fl_throw_type(env, "tunOpen(name): interface names are at most 15 bytes");

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO) return fl_throw_errno(env, err, "no /dev/net/tun (load the tun module)");
    if (err == EPERM || err == EACCES) return fl_throw_errno(env, err, "opening a TUN device needs root or CAP_NET_ADMIN");
    return fl_throw_errno(env, err, "cannot open /dev/net/tun");
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, name, name_len);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | ((want & 1) ? IFF_VNET_HDR : 0) | ((want & 2) ? IFF_NAPI : 0);
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc < 0 && (want & 2) && (errno == EINVAL || errno == EPERM)) {
    /* no IFF_NAPI on this kernel (or not allowed): open without it */
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, name_len);
    want &= ~2u;
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | ((want & 1) ? IFF_VNET_HDR : 0);
    rc = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (rc >= 0) {
    got = want & 3;
    if (want & 1) {
      if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_USO4 | TUN_F_USO6)) == 0) got |= 16;
      if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) == 0) got |= 4;
      else if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0) got |= 8;
    }
  }
  if (rc < 0) {
    int err = errno;
    close(fd);
    char text[128];
    if (err == EPERM || err == EACCES) return fl_throw_errno(env, err, "opening a TUN device needs root or CAP_NET_ADMIN");
    if (err == EBUSY) {
      snprintf(text, sizeof(text), "TUN device %s is busy (open in another process, or not a TUN device)", name);
      return fl_throw_errno(env, err, text);
    }
    if (err == EINVAL) {
      snprintf(text, sizeof(text), "cannot create TUN device \"%s\" (bad name, or an interface of another type has it)", name);
      return fl_throw_errno(env, err, text);
    }
    snprintf(text, sizeof(text), "cannot create TUN device \"%s\"", name);
    return fl_throw_errno(env, err, text);
  }
  fl_dev *d = fl_dev_new(env, FL_TUN, fd);
  if (!d) {
    close(fd);
    return fl_throw_errno(env, ENOMEM, "cannot allocate the TUN device state");
  }
  d->read_burst = tun_read_burst;
  napi_value handle = fl_dev_wrap(env, d);
  if (!handle) return NULL;
  napi_value result, actual;
  ifr.ifr_name[IFNAMSIZ - 1] = 0;
  FL_CALL(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &actual));
  napi_value got_v;
  FL_CALL(env, napi_create_uint32(env, got, &got_v));
  FL_CALL(env, napi_create_array_with_length(env, 3, &result));
  FL_CALL(env, napi_set_element(env, result, 0, handle));
  FL_CALL(env, napi_set_element(env, result, 1, actual));
  FL_CALL(env, napi_set_element(env, result, 2, got_v));
  return result;
}

napi_value fl_tun_start(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  uint32_t slot, headroom, burst;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return fl_throw_type(env, "tunStart(handle, slab, lens, slotSize, headroom, burst, onBurst)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (d->closed) return fl_throw_errno(env, EBADF, "tunStart: the TUN device is closed");
  if (d->started) return fl_throw_type(env, "tunStart: already started");
  if (!fl_arg_u32(env, argv[3], &slot, "slotSize") || !fl_arg_u32(env, argv[4], &headroom, "headroom") ||
      !fl_arg_u32(env, argv[5], &burst, "burst"))
    return NULL;
  if (!fl_dev_set_slab(env, d, argv[1], argv[2], slot, headroom, burst)) return NULL;
  if (fl_dev_start(env, d, argv[6], "flannelette.tun") != napi_ok)
    return fl_throw_errno(env, EIO, "tunStart: cannot watch the TUN device");
  return NULL;
}

/* Writes one packet, behind the 10-byte virtio_net_hdr `hdr` when given, with the checks and counters
 * both write entry points share: refused when closed or out of bounds; EAGAIN/ENOBUFS count as drops.
 * Returns true when the kernel took it. */
static bool tun_write_packet(fl_dev *d, uint8_t *hdr, uint8_t *data, size_t len, int32_t off, int32_t n) {
  if (d->closed) {
    d->tx_errors++;
    return false;
  }
  if (off < 0 || n <= 0 || (size_t)off + (size_t)n > len || n > 65535) {
    d->tx_too_big++;
    return false;
  }
  struct iovec iov[2];
  int cnt = 0;
  if (hdr) iov[cnt++] = (struct iovec){hdr, 10};
  iov[cnt++] = (struct iovec){data + off, (size_t)n};
  for (;;) {
    if (writev(d->fd, iov, cnt) >= 0) {
      d->tx_packets++;
      return true;
    }
    if (errno == EINTR) continue;
    d->last_tx_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) d->tx_drops++;
    else d->tx_errors++;
    return false;
  }
}

napi_value fl_tun_write(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  uint8_t *data;
  size_t len;
  int32_t off, n;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return fl_throw_type(env, "tunWrite(handle, buf, off, len)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (!fl_arg_bytes(env, argv[1], &data, &len, "buf") || !fl_arg_i32(env, argv[2], &off, "off") ||
      !fl_arg_i32(env, argv[3], &n, "len"))
    return NULL;
  FL_CALL(env, napi_get_boolean(env, tun_write_packet(d, NULL, data, len, off, n), &result));
  return result;
}

napi_value fl_tun_write_hdr(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  uint8_t *hdr, *data;
  size_t hdr_len, len;
  int32_t off, n;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return fl_throw_type(env, "tunWriteHdr(handle, hdr, buf, off, len)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (!fl_arg_bytes(env, argv[1], &hdr, &hdr_len, "hdr") || !fl_arg_bytes(env, argv[2], &data, &len, "buf") ||
      !fl_arg_i32(env, argv[3], &off, "off") || !fl_arg_i32(env, argv[4], &n, "len"))
    return NULL;
  if (hdr_len < 10) return fl_throw_type(env, "tunWriteHdr: hdr must hold the 10-byte virtio_net_hdr");
  FL_CALL(env, napi_get_boolean(env, tun_write_packet(d, hdr, data, len, off, n), &result));
  return result;
}
