// A thread that lives in one network namespace for a while: enterNetnsThread() moves the calling
// thread into a named namespace (setns(2) through the native addon, sys/addon.ts) and returns the
// function that moves it back. Unlike withNetns (netns.ts), which covers synchronous work only, the
// thread stays inside across awaits, so node:net sockets (whose fd is created a tick after connect())
// are made there. Meant for a worker_threads Worker that does nothing else meanwhile (lab check's TCP
// prober, src/lab/check-worker.ts): on the main thread every other socket opened until leave() would
// land in that namespace too.
// Throws: DeviceError for a bad name, a missing addon or namespace; PermissionError without root.
import { DeviceError } from '../util/errors.js';
import { loadNative, nativeError } from './addon.js';

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/** Enters /run/netns/<name> on the calling thread; call the returned function to go back (once). */
export function enterNetnsThread(name: string): () => void {
  if (!NETNS_NAME.test(name) || name === '.' || name === '..')
    throw new DeviceError(`bad network namespace name "${name}"`);
  const addon = loadNative();
  let saved: number;
  try {
    saved = addon.netnsEnter(`/run/netns/${name}`);
  } catch (err) {
    throw nativeError(
      err,
      `cannot enter network namespace ${name}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  let left = false;
  return () => {
    if (left) return;
    left = true;
    addon.netnsRestore(saved);
  };
}
