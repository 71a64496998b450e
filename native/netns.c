/*
 * Moves the calling thread into a network namespace and back (setns(2), CLONE_NEWNET), so that the
 * TUN devices and sockets opened in between live in that namespace. A file descriptor keeps its
 * namespace after the thread leaves, so only the opening has to happen inside.
 *
 * netnsEnter(path) -> savedFd   (path: e.g. /run/netns/NAME; savedFd: the thread's previous namespace)
 * netnsRestore(savedFd)         (returns the thread to that namespace and closes savedFd)
 * Both throw Error{code} on failure. Only the calling thread moves: other threads (libuv's pool,
 * workers) stay where they are.
 */
#include "dev.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

napi_value fl_netns_enter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char path[512];
  size_t n = 0;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &n) != napi_ok || n == 0 ||
      n >= sizeof(path) - 1)
    return fl_throw_type(env, "netnsEnter(path): path must be a non-empty string");
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) return fl_throw_errno(env, errno, "cannot open /proc/thread-self/ns/net");
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(saved);
    char text[600];
    snprintf(text, sizeof(text), "no network namespace at %s", path);
    return fl_throw_errno(env, err, text);
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    close(target);
    close(saved);
    char text[600];
    snprintf(text, sizeof(text), "cannot enter the network namespace %s", path);
    return fl_throw_errno(env, err, text);
  }
  close(target);
  FL_CALL(env, napi_create_int32(env, saved, &result));
  return result;
}

napi_value fl_netns_restore(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  FL_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !fl_arg_i32(env, argv[0], &fd, "savedFd") || fd < 0) return fl_throw_type(env, "netnsRestore(savedFd)");
  if (setns(fd, CLONE_NEWNET) < 0) {
    int err = errno;
    return fl_throw_errno(env, err, "cannot return to the previous network namespace");
  }
  close(fd);
  return NULL;
}
