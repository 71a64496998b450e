// Polling with a deadline: pollUntil calls `test` every `intervalMs` until it returns true, the
// deadline passes (DeviceError "timed out after Ns waiting for <what>") or `signal` aborts (rejects
// with its reason). An error thrown by `test` is rethrown at once unless `retryErrors` is set, in
// which case the last one is named in the timeout message.
import { DeviceError } from '../util/errors.js';

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
  what: string | (() => string);
  retryErrors?: boolean;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function pollUntil(test: () => Promise<boolean> | boolean, o: PollOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      if (await test()) return;
      lastError = undefined;
    } catch (err) {
      if (!o.retryErrors) throw err;
      lastError = err as Error;
    }
    if (Date.now() > deadline) {
      const what = typeof o.what === 'string' ? o.what : o.what();
      throw new DeviceError(
        `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for ${what}${lastError ? ` (${lastError.message})` : ''}`,
      );
    }
    await sleep(o.intervalMs ?? 200, o.signal);
  }
}
