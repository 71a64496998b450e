// Network namespaces for the calling thread: withNetns() runs a synchronous function with the
// thread inside a named namespace (setns(2) through the native addon, sys/addon.ts), so TUN devices
// and sockets opened inside it live there.
//
// Throws: DeviceError for a bad name, a missing addon or namespace; PermissionError without root.
import { enterNetnsThread } from './netns-thread.js';

/**
 * Runs `fn` with the calling thread inside the network namespace `name` (as created by
 * `ip netns add`, i.e. /run/netns/<name>) and returns its result; the thread is back in its own
 * namespace when this returns or throws. TUN devices and sockets opened inside `fn` stay in that
 * namespace for their whole life. Only the synchronous part of `fn` runs inside: if it returns a
 * promise, everything after its first await runs outside (openLinuxTun and openNativeUdpUnderlay
 * open their fds synchronously, so `withNetns(ns, () => openNativeUdpUnderlay(...))` works; node:dgram
 * sockets bind asynchronously and do NOT). Only the calling thread moves; needs root (CAP_SYS_ADMIN).
 */
export function withNetns<T>(name: string, fn: () => T): T {
  const leave = enterNetnsThread(name);
  try {
    return fn();
  } finally {
    // If this fails the thread would stay in the namespace: that is not recoverable.
    leave();
  }
}
