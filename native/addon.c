/*
 * flannelette's native addon (plain C, N-API version 8): a Linux TUN device and a batched UDP socket
 * (see tun.c, udp.c, dev.c) and a per-thread network namespace switch (netns.c). Loaded only by
 * src/tun/native.ts, which wraps these functions in typed classes; nothing else should call them.
 *
 * devClose(handle)  stops reading, flushes a UDP send queue, closes the fd. Idempotent.
 * devPoll(handle)   -> packets delivered: one non-blocking burst read now, handed to onBurst synchronously.
 * devBusyPoll(handle, partner | null, usec)  the busy-poll window after traffic (busy_poll.c); 0 = off.
 * devStats(handle)  -> {rxPackets, rxBursts, rxErrors, rxTruncated, txPackets, txDrops, txErrors,
 *                       txTooBig, txQueued, lastRxErrno, lastTxErrno, rxStopped, closed,
 *                       sourcePorts, gso, gsoSupported, txGsoSends, txGsoSegments, gsoFallbacks,
 *                       gro, groSupported, rxCtrunc, bpWindows, bpHits, bpEmpty, bpSpinUs}
 *                   (UDP sockets: sourcePorts = size of the source-port pool; gso = UDP_SEGMENT in use;
 *                   gsoSupported = the kernel knows it; txGso* = trains sent and the datagrams in them;
 *                   gsoFallbacks = trains the kernel refused and that went out one datagram each;
 *                   gro = UDP_GRO set on the socket, groSupported = the kernel knows it, rxCtrunc =
 *                   GRO reads dropped because their control message was cut)
 */
#include "dev.h"

static napi_value fl_dev_close_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return fl_throw_type(env, "devClose(handle)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (!d->closed && d->kind == FL_UDP && d->sq_len > 0) fl_udp_flush_queue(d);
  fl_dev_close(d);
  return NULL;
}

static napi_value fl_dev_poll_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return fl_throw_type(env, "devPoll(handle)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  int n = fl_dev_poll_now(d);
  bool pending;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
  FL_CALL(env, napi_create_int32(env, n, &result));
  return result;
}

static void set_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, obj, name, x);
}

static napi_value fl_dev_stats_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, closed;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return fl_throw_type(env, "devStats(handle)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  FL_CALL(env, napi_create_object(env, &obj));
  set_num(env, obj, "rxPackets", d->rx_packets);
  set_num(env, obj, "rxBursts", d->rx_bursts);
  set_num(env, obj, "rxErrors", d->rx_errors);
  set_num(env, obj, "rxTruncated", d->rx_truncated);
  set_num(env, obj, "txPackets", d->tx_packets);
  set_num(env, obj, "txDrops", d->tx_drops);
  set_num(env, obj, "txErrors", d->tx_errors);
  set_num(env, obj, "txTooBig", d->tx_too_big);
  set_num(env, obj, "txQueued", d->sq_len);
  set_num(env, obj, "lastRxErrno", d->last_rx_errno);
  set_num(env, obj, "lastTxErrno", d->last_tx_errno);
  napi_value stopped;
  napi_get_boolean(env, d->rx_stopped != 0, &stopped);
  napi_set_named_property(env, obj, "rxStopped", stopped);
  napi_get_boolean(env, d->closed != 0, &closed);
  napi_set_named_property(env, obj, "closed", closed);
  napi_value gso, gso_ok;
  set_num(env, obj, "sourcePorts", d->pool_n);
  napi_get_boolean(env, d->gso != 0, &gso);
  napi_set_named_property(env, obj, "gso", gso);
  napi_get_boolean(env, d->gso_ok != 0, &gso_ok);
  napi_set_named_property(env, obj, "gsoSupported", gso_ok);
  set_num(env, obj, "txGsoSends", d->tx_gso_sends);
  set_num(env, obj, "txGsoSegments", d->tx_gso_segments);
  set_num(env, obj, "gsoFallbacks", d->gso_fallbacks);
  napi_value gro, gro_ok;
  napi_get_boolean(env, d->gro != 0, &gro);
  napi_set_named_property(env, obj, "gro", gro);
  napi_get_boolean(env, d->gro_ok != 0, &gro_ok);
  napi_set_named_property(env, obj, "groSupported", gro_ok);
  set_num(env, obj, "rxCtrunc", d->rx_ctrunc);
  set_num(env, obj, "bpWindows", d->bp_windows);
  set_num(env, obj, "bpHits", d->bp_hits);
  set_num(env, obj, "bpEmpty", d->bp_empty);
  set_num(env, obj, "bpSpinUs", d->bp_spin_us);
  return obj;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"tunOpen", NULL, fl_tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunStart", NULL, fl_tun_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunWrite", NULL, fl_tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunWriteHdr", NULL, fl_tun_write_hdr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpOpen", NULL, fl_udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpStart", NULL, fl_udp_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSend", NULL, fl_udp_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpFlush", NULL, fl_udp_flush, NULL, NULL, NULL, napi_enumerable, NULL},
      {"devClose", NULL, fl_dev_close_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"devStats", NULL, fl_dev_stats_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"devPoll", NULL, fl_dev_poll_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"devBusyPoll", NULL, fl_dev_busy_poll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsEnter", NULL, fl_netns_enter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsRestore", NULL, fl_netns_restore, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}
