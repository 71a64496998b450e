/*
 * Shared state of a polled file descriptor (a TUN device or a UDP socket) and the helpers that turn
 * OS errors into JS errors. See dev.c for the burst/callback machinery.
 *
 * Buffer ownership: JS allocates the receive slab and the per-slot arrays once and hands them to
 * native code (start); native keeps references to them until close, writes packet i of a burst into
 * slot i at offset `headroom`, and calls JS once per burst with the count.
 */
#ifndef FLANNELETTE_DEV_H
#define FLANNELETTE_DEV_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/uio.h>

enum fl_kind { FL_TUN = 1, FL_UDP = 2 };

typedef struct fl_dev fl_dev;

/* Reads up to d->burst packets into the slab; returns how many (0 when nothing was ready). */
typedef int (*fl_read_burst_fn)(fl_dev *d);

struct fl_dev {
  enum fl_kind kind;
  int fd;
  napi_env env;

  uv_poll_t poll;
  int poll_inited;   /* uv_poll_init succeeded; uv_close must be called before freeing */
  int uv_closed;     /* the uv close callback ran (or the poll was never initialised) */
  int closed;        /* fd closed, refs released */
  int finalized;     /* the JS handle was garbage collected */
  napi_async_cleanup_hook_handle hook; /* keeps the env (and this addon) alive until the fd is closed */

  napi_ref cb_ref, resource_ref, slab_ref, lens_ref, addrs_ref, ports_ref, gso_sizes_ref;
  napi_async_context actx;
  int started;

  uint8_t *slab;
  size_t slab_len;
  int32_t *lens;
  uint32_t *addrs;
  uint16_t *ports;
  uint32_t burst, slot_size, headroom;
  fl_read_burst_fn read_burst;

  /* counters */
  double rx_packets, rx_bursts, rx_errors, rx_truncated;
  double tx_packets, tx_drops, tx_errors, tx_too_big;
  int last_rx_errno, last_tx_errno;
  int rx_stopped; /* reading stopped after a fatal error (e.g. the TUN interface was deleted) */

  /* UDP receive (recvmmsg) */
  struct mmsghdr *rmsgs;
  struct iovec *riov;
  struct sockaddr_in *raddr;

  /* UDP send queue (sendmmsg). Entry i: payload in slot i (siov[i]), destination saddr[i], leaving
     from socket sq_sock[i] (0: the bound socket fd, k > 0: pool_fds[k - 1]). */
  uint32_t sq_cap, sq_len, sq_slot;
  uint8_t *sq_buf;
  struct iovec *siov;
  struct sockaddr_in *saddr;
  uint16_t *sq_sock;

  /* The messages one flush builds (a datagram, or a GSO train of consecutive entries), udp.c */
  struct mmsghdr *gmsgs;
  uint8_t *gcmsg;          /* one UDP_SEGMENT control message per message */
  uint32_t *gfirst, *gcount;

  /* Source-port pool: ordinary UDP sockets bound to ephemeral ports (the kernel's local port range),
     send-only (a BPF filter drops whatever would be queued to them). */
  int *pool_fds;
  uint16_t *pool_ports;
  uint32_t pool_n;

  /* UDP GSO (UDP_SEGMENT): gso_ok = the kernel knows UDP_SEGMENT; gso = in use now (cleared after an
     EIO: the route's device cannot checksum); gso_max_seg = the largest segment tried without EINVAL. */
  int gso_ok, gso;
  uint32_t gso_max_seg;
  double tx_gso_sends, tx_gso_segments, gso_fallbacks;
  uint32_t local_addr; /* bound address, host order */

  /* UDP GRO on receive (udp_gro.c): gro_ok = the kernel knows UDP_GRO; gro = set on the socket. Then
     every read may hold several datagrams of gso_sizes[i] bytes (0: one datagram); rcmsg holds one
     control-message buffer per read; rx_ctrunc counts reads dropped because their cmsg was cut. */
  int gro_ok, gro;
  uint8_t *rcmsg;
  uint16_t *gso_sizes;
  double rx_ctrunc;

  /* Busy-poll window (busy_poll.c): bp_usec 0 = off; bp_peer is polled too (bp_peer_ref keeps it alive). */
  uint32_t bp_usec;
  fl_dev *bp_peer;
  napi_ref bp_peer_ref;
  double bp_windows, bp_hits, bp_empty, bp_spin_us;
};

#define FL_GRO_CMSG_SPACE CMSG_SPACE(sizeof(int))

/* --- dev.c --- */
fl_dev *fl_dev_new(napi_env env, enum fl_kind kind, int fd);
napi_value fl_dev_wrap(napi_env env, fl_dev *d);
fl_dev *fl_dev_unwrap(napi_env env, napi_value handle);
napi_status fl_dev_start(napi_env env, fl_dev *d, napi_value onBurst, const char *name);
void fl_dev_close(fl_dev *d);
void fl_dev_stop_reading(fl_dev *d, int err);
int fl_dev_poll_now(fl_dev *d);
void fl_dev_call_js(fl_dev *d, int count);

/* --- busy_poll.c --- */
void fl_busy_poll_window(fl_dev *d);
napi_value fl_dev_busy_poll(napi_env env, napi_callback_info info);
int fl_dev_set_slab(napi_env env, fl_dev *d, napi_value slab, napi_value lens, uint32_t slot_size,
                    uint32_t headroom, uint32_t burst);

/* error helpers: throw an Error with .code = errno name, .errno = errno; return NULL for napi */
napi_value fl_throw_errno(napi_env env, int err, const char *message);
napi_value fl_throw_type(napi_env env, const char *message);
const char *fl_errno_name(int err);

/* argument helpers; return 0 and throw a TypeError on failure */
int fl_arg_u32(napi_env env, napi_value v, uint32_t *out, const char *what);
int fl_arg_i32(napi_env env, napi_value v, int32_t *out, const char *what);
int fl_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what);
int fl_arg_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *count,
                 const char *what);

/* --- tun.c / udp.c / netns.c --- */
napi_value fl_tun_open(napi_env env, napi_callback_info info);
napi_value fl_tun_start(napi_env env, napi_callback_info info);
napi_value fl_tun_write(napi_env env, napi_callback_info info);
napi_value fl_tun_write_hdr(napi_env env, napi_callback_info info);
napi_value fl_udp_open(napi_env env, napi_callback_info info);
napi_value fl_udp_start(napi_env env, napi_callback_info info);
napi_value fl_udp_send(napi_env env, napi_callback_info info);
napi_value fl_udp_flush(napi_env env, napi_callback_info info);
uint32_t fl_udp_flush_queue(fl_dev *d);
int udp_gro_probe(int fd);
int udp_gro_enable(int fd);
uint16_t udp_gro_size(struct msghdr *h);
napi_value fl_netns_enter(napi_env env, napi_callback_info info);
napi_value fl_netns_restore(napi_env env, napi_callback_info info);

#define FL_CALL(env, call)                                      \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      fl_throw_type((env), "internal N-API failure: " #call);  \
      return NULL;                                              \
    }                                                           \
  } while (0)

#endif
