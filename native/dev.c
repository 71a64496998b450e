/*
 * The burst machinery shared by the TUN device and the UDP socket: a JS handle (napi external) that
 * owns an fd, a uv_poll watcher on the JS thread's event loop, and one JS call per burst.
 *
 * On readable: read a burst (up to d->burst packets) into the JS slab, call JS once with the count
 * through napi_make_callback (so process.nextTick and microtasks run after it), and repeat while
 * bursts come back full, at most FL_MAX_ROUNDS times, then return to the event loop (uv_poll is
 * level-triggered, so leftover packets fire the watcher again on the next loop iteration).
 *
 * Lifetime: close() (from JS, idempotent) stops the watcher, closes the fd and drops the JS refs.
 * The struct is freed when both the uv handle has closed and the JS handle was finalized. An async
 * env cleanup hook closes devices still open when a worker or the process shuts down, and holds the
 * env until the uv close callback ran (the addon's code must still be mapped then). Exceptions thrown
 * by the JS callback are re-raised as uncaught exceptions (like an EventEmitter listener's).
 */
#include "dev.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#define FL_MAX_ROUNDS 8

static void fl_dev_maybe_free(fl_dev *d) {
  if (!d->finalized || !d->uv_closed) return;
  free(d->rmsgs);
  free(d->riov);
  free(d->raddr);
  free(d->rcmsg);
  free(d->sq_buf);
  free(d->siov);
  free(d->saddr);
  free(d->sq_sock);
  free(d->gmsgs);
  free(d->gcmsg);
  free(d->gfirst);
  free(d->gcount);
  free(d->pool_fds);
  free(d->pool_ports);
  free(d);
}

static void fl_release_hook(fl_dev *d) {
  if (d->hook) {
    napi_remove_async_cleanup_hook(d->hook);
    d->hook = NULL;
  }
}

static void fl_on_uv_closed(uv_handle_t *h) {
  fl_dev *d = (fl_dev *)h->data;
  d->uv_closed = 1;
  fl_release_hook(d); /* only now may the env (and with it this code) go away */
  fl_dev_maybe_free(d);
}

/* Stops polling and closes the fd; does not touch JS values (safe in cleanup hooks). */
static void fl_dev_close_os(fl_dev *d) {
  if (d->poll_inited) {
    if (!uv_is_closing((uv_handle_t *)&d->poll)) {
      uv_poll_stop(&d->poll);
      uv_close((uv_handle_t *)&d->poll, fl_on_uv_closed);
    }
  } else {
    fl_release_hook(d);
  }
  if (d->fd >= 0) {
    close(d->fd);
    d->fd = -1;
  }
  for (uint32_t i = 0; i < d->pool_n; i++) {
    if (d->pool_fds[i] >= 0) close(d->pool_fds[i]);
    d->pool_fds[i] = -1;
  }
  d->closed = 1;
}

/*
 * The env is shutting down (worker exit, process exit) with the device still open. An async
 * cleanup hook, because the uv close callback must run before the addon may be unloaded.
 */
static void fl_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  fl_dev *d = (fl_dev *)arg;
  d->hook = handle;
  if (d->closed) {
    if (!d->poll_inited || d->uv_closed) fl_release_hook(d);
    return; /* else the pending close callback releases it */
  }
  fl_dev_close_os(d);
}

static void fl_release_refs(fl_dev *d) {
  napi_env env = d->env;
  napi_ref *refs[] = {&d->cb_ref, &d->resource_ref, &d->slab_ref, &d->lens_ref, &d->addrs_ref, &d->ports_ref,
                     &d->gso_sizes_ref, &d->bp_peer_ref};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    if (*refs[i]) {
      napi_delete_reference(env, *refs[i]);
      *refs[i] = NULL;
    }
  }
  if (d->actx) {
    napi_async_destroy(env, d->actx);
    d->actx = NULL;
  }
  d->slab = NULL;
  d->lens = NULL;
  d->addrs = NULL;
  d->ports = NULL;
  d->gso_sizes = NULL;
  d->bp_peer = NULL;
  d->bp_usec = 0;
}

void fl_dev_close(fl_dev *d) {
  if (d->closed) return;
  fl_dev_close_os(d);
  fl_release_refs(d);
}

static void fl_dev_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  fl_dev *d = (fl_dev *)data;
  fl_dev_close(d);
  d->finalized = 1;
  fl_dev_maybe_free(d);
}

fl_dev *fl_dev_new(napi_env env, enum fl_kind kind, int fd) {
  fl_dev *d = (fl_dev *)calloc(1, sizeof(fl_dev));
  if (!d) return NULL;
  d->kind = kind;
  d->fd = fd;
  d->env = env;
  d->uv_closed = 1; /* becomes 0 once a uv handle exists */
  if (napi_add_async_cleanup_hook(env, fl_env_cleanup, d, &d->hook) != napi_ok) d->hook = NULL;
  return d;
}

napi_value fl_dev_wrap(napi_env env, fl_dev *d) {
  napi_value ext;
  if (napi_create_external(env, d, fl_dev_finalize, NULL, &ext) != napi_ok) {
    fl_dev_close(d);
    d->finalized = 1;
    fl_dev_maybe_free(d);
    fl_throw_type(env, "internal N-API failure: napi_create_external");
    return NULL;
  }
  return ext;
}

fl_dev *fl_dev_unwrap(napi_env env, napi_value handle) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, handle, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, handle, &data) != napi_ok || data == NULL) {
    fl_throw_type(env, "expected a flannelette device handle");
    return NULL;
  }
  return (fl_dev *)data;
}

void fl_dev_call_js(fl_dev *d, int count) {
  napi_env env = d->env;
  napi_value cb, resource, argv[1], result;
  if (napi_get_reference_value(env, d->cb_ref, &cb) != napi_ok || cb == NULL) return;
  if (napi_get_reference_value(env, d->resource_ref, &resource) != napi_ok || resource == NULL) return;
  napi_create_int32(env, count, &argv[0]);
  napi_status st = napi_make_callback(env, d->actx, resource, cb, 1, argv, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

/* A read error that will not go away: stop watching (a level-triggered watcher would spin). */
void fl_dev_stop_reading(fl_dev *d, int err) {
  d->rx_errors++;
  d->last_rx_errno = err;
  d->rx_stopped = 1;
  if (d->poll_inited && !uv_is_closing((uv_handle_t *)&d->poll)) uv_poll_stop(&d->poll);
}

static void fl_on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  fl_dev *d = (fl_dev *)h->data;
  if (d->closed || !d->started) return;
  if (status < 0) {
    fl_dev_stop_reading(d, -status);
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(d->env, &scope) != napi_ok) return;
  int delivered = 0;
  for (int round = 0; round < FL_MAX_ROUNDS && !d->closed; round++) {
    int n = d->read_burst(d);
    if (n <= 0 || d->closed) break;
    d->rx_packets += n;
    d->rx_bursts++;
    fl_dev_call_js(d, n);
    delivered += n;
    if ((uint32_t)n < d->burst) break;
  }
  if (delivered > 0 && d->bp_usec > 0 && !d->closed) fl_busy_poll_window(d);
  napi_close_handle_scope(d->env, scope);
}

/*
 * One non-blocking burst read outside the poll callback, from JS (devPoll): the burst goes to the
 * same onBurst callback, synchronously (napi_call_function: we are already inside JS). Returns how
 * many packets were delivered (0 when nothing was queued). Used right after writing a burst into the
 * TUN device, whose local answers (a pod's reply is produced inside our write) are then sent without
 * another trip through the event loop.
 */
int fl_dev_poll_now(fl_dev *d) {
  if (d->closed || !d->started || d->rx_stopped) return 0;
  int n = d->read_burst(d);
  if (n <= 0 || d->closed) return 0;
  d->rx_packets += n;
  d->rx_bursts++;
  napi_env env = d->env;
  napi_value cb, recv, argv[1], result;
  if (napi_get_reference_value(env, d->cb_ref, &cb) != napi_ok || cb == NULL) return n;
  napi_get_undefined(env, &recv);
  napi_create_int32(env, n, &argv[0]);
  napi_call_function(env, recv, cb, 1, argv, &result); /* an exception propagates to the JS caller */
  return n;
}

napi_status fl_dev_start(napi_env env, fl_dev *d, napi_value onBurst, const char *name) {
  napi_status st;
  napi_value resource, resname;
  uv_loop_t *loop;
  if ((st = napi_create_reference(env, onBurst, 1, &d->cb_ref)) != napi_ok) return st;
  if ((st = napi_create_object(env, &resource)) != napi_ok) return st;
  if ((st = napi_create_reference(env, resource, 1, &d->resource_ref)) != napi_ok) return st;
  if ((st = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resname)) != napi_ok) return st;
  if ((st = napi_async_init(env, resource, resname, &d->actx)) != napi_ok) return st;
  if ((st = napi_get_uv_event_loop(env, &loop)) != napi_ok) return st;
  if (uv_poll_init(loop, &d->poll, d->fd) != 0) return napi_generic_failure;
  d->poll.data = d;
  d->poll_inited = 1;
  d->uv_closed = 0;
  if (uv_poll_start(&d->poll, UV_READABLE, fl_on_poll) != 0) return napi_generic_failure;
  d->started = 1;
  return napi_ok;
}

/* Validates and records the receive slab: burst slots of slot_size bytes, packet at offset headroom. */
int fl_dev_set_slab(napi_env env, fl_dev *d, napi_value slab, napi_value lens, uint32_t slot_size,
                    uint32_t headroom, uint32_t burst) {
  uint8_t *data;
  size_t len, nlens;
  void *lp;
  if (!fl_arg_bytes(env, slab, &data, &len, "slab")) return 0;
  if (!fl_arg_typed(env, lens, napi_int32_array, &lp, &nlens, "lens")) return 0;
  if (burst == 0 || burst > 1024 || slot_size <= headroom || (uint64_t)burst * slot_size > len || nlens < burst) {
    fl_throw_type(env, "slab/lens too small for burst x slotSize, or headroom >= slotSize");
    return 0;
  }
  if (napi_create_reference(env, slab, 1, &d->slab_ref) != napi_ok ||
      napi_create_reference(env, lens, 1, &d->lens_ref) != napi_ok) {
    fl_throw_type(env, "internal N-API failure: napi_create_reference");
    return 0;
  }
  d->slab = data;
  d->slab_len = len;
  d->lens = (int32_t *)lp;
  d->slot_size = slot_size;
  d->headroom = headroom;
  d->burst = burst;
  return 1;
}

/* ---------------------------------------------------------------------------------------------- */

const char *fl_errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAGAIN: return "EAGAIN";
    case ENOBUFS: return "ENOBUFS";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case EIO: return "EIO";
    case ENOSYS: return "ENOSYS";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return "EUNKNOWN";
  }
}

napi_value fl_throw_errno(napi_env env, int err, const char *message) {
  char text[512];
  snprintf(text, sizeof(text), "%s: %s", message, strerror(err));
  napi_value msg, code, error, errnum;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, fl_errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

napi_value fl_throw_type(napi_env env, const char *message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG", message);
  return NULL;
}

int fl_arg_u32(napi_env env, napi_value v, uint32_t *out, const char *what) {
  napi_valuetype t;
  double x;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &x) != napi_ok ||
      x < 0 || x > 4294967295.0 || x != (double)(uint32_t)x) {
    char text[128];
    snprintf(text, sizeof(text), "%s must be an unsigned 32-bit integer", what);
    fl_throw_type(env, text);
    return 0;
  }
  *out = (uint32_t)x;
  return 1;
}

int fl_arg_i32(napi_env env, napi_value v, int32_t *out, const char *what) {
  napi_valuetype t;
  double x;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &x) != napi_ok ||
      x < -2147483648.0 || x > 2147483647.0 || x != (double)(int32_t)x) {
    char text[128];
    snprintf(text, sizeof(text), "%s must be a 32-bit integer", what);
    fl_throw_type(env, text);
    return 0;
  }
  *out = (int32_t)x;
  return 1;
}

int fl_arg_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *count,
                 const char *what) {
  bool is = false;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok || type != want) {
    char text[128];
    snprintf(text, sizeof(text), "%s has the wrong type", what);
    fl_throw_type(env, text);
    return 0;
  }
  *count = length;
  return 1;
}

int fl_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  void *p = NULL;
  if (!fl_arg_typed(env, v, napi_uint8_array, &p, len, what)) return 0;
  *data = (uint8_t *)p;
  return 1;
}
