/*
 * The busy-poll window (latency). After a poll callback of a device delivered traffic, the device does
 * not go back to the event loop to sleep at once: for up to bp_usec microseconds after the last packet it
 * keeps checking itself and its partner (the TUN device for the UDP socket and the other way round) with
 * a zero-timeout poll(2), yielding the CPU to any other runnable task between checks (sched_yield), so an
 * answer that arrives within the window is read without a sleep and a wake-up. What is found is read and
 * handed to that device's own JS callback as a normal burst (the TypeScript data path still decides every
 * packet); then the window starts again, at most FL_BP_MAX_HITS times per callback, so timers and the other
 * handles of the loop still run under steady traffic.
 *
 * devBusyPoll(handle, partner | null, usec): usec 0 switches the window off (the default). The handle keeps
 * a reference to the partner's JS handle (released on close), so the partner cannot be freed under it.
 * Counters (devStats): bpWindows (windows opened), bpHits (bursts found in a window), bpEmpty (windows that
 * ended without traffic), bpSpinUs (microseconds spent in windows).
 */
#include "dev.h"
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <time.h>

#define FL_BP_MAX_HITS 8
#define FL_BP_MAX_USEC 10000

static uint64_t bp_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int bp_usable(const fl_dev *d) { return d && !d->closed && d->started && !d->rx_stopped && d->fd >= 0; }

/* Reads one burst of d and hands it to JS; returns the packet count. */
static int bp_deliver(fl_dev *d) {
  int n = d->read_burst(d);
  if (n <= 0 || d->closed) return 0;
  d->rx_packets += n;
  d->rx_bursts++;
  fl_dev_call_js(d, n);
  return n;
}

void fl_busy_poll_window(fl_dev *d) {
  if (d->bp_usec == 0 || !bp_usable(d)) return;
  const uint64_t limit = (uint64_t)d->bp_usec * 1000u;
  const uint64_t start = bp_now_ns();
  uint64_t last = start;
  int hits = 0;
  d->bp_windows++;
  for (;;) {
    fl_dev *devs[2] = {d, bp_usable(d->bp_peer) ? d->bp_peer : NULL};
    struct pollfd pfd[2] = {{.fd = d->fd, .events = POLLIN}, {.fd = devs[1] ? devs[1]->fd : -1, .events = POLLIN}};
    int r = poll(pfd, devs[1] ? 2 : 1, 0);
    int got = 0;
    for (int i = 0; r > 0 && i < 2; i++) {
      if (devs[i] && (pfd[i].revents & (POLLIN | POLLERR)) && bp_usable(devs[i])) got += bp_deliver(devs[i]);
    }
    if (!bp_usable(d)) break;
    uint64_t now = bp_now_ns();
    if (got > 0) {
      d->bp_hits++;
      if (++hits >= FL_BP_MAX_HITS) break;
      last = now;
      continue;
    }
    if (now - last >= limit) {
      d->bp_empty++;
      break;
    }
    sched_yield();
  }
  d->bp_spin_us += (double)(bp_now_ns() - start) / 1000.0;
}

napi_value fl_dev_busy_poll(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t usec;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return fl_throw_type(env, "devBusyPoll(handle, partner | null, usec)");
  fl_dev *d = fl_dev_unwrap(env, argv[0]);
  if (!d) return NULL;
  if (!fl_arg_u32(env, argv[2], &usec, "usec")) return NULL;
  if (usec > FL_BP_MAX_USEC) return fl_throw_type(env, "busy-poll window must be at most 10000 microseconds");
  napi_valuetype t;
  FL_CALL(env, napi_typeof(env, argv[1], &t));
  fl_dev *peer = NULL;
  if (t != napi_null && t != napi_undefined) {
    peer = fl_dev_unwrap(env, argv[1]);
    if (!peer) return NULL;
    if (peer == d) return fl_throw_type(env, "a device cannot be its own busy-poll partner");
  }
  if (d->closed) return NULL;
  if (d->bp_peer_ref) {
    napi_delete_reference(env, d->bp_peer_ref);
    d->bp_peer_ref = NULL;
  }
  d->bp_peer = NULL;
  if (peer) {
    FL_CALL(env, napi_create_reference(env, argv[1], 1, &d->bp_peer_ref));
    d->bp_peer = peer;
  }
  d->bp_usec = usec;
  return NULL;
}
