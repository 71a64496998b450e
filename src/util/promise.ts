// Promise helpers for functions that keep a Promise-returning signature (an interface asks for one)
// but have nothing to wait for. Nothing here throws: a throw of `fn` becomes the rejection.

/**
 * Runs fn now and returns its result as a promise, exactly as an `async` function without `await`
 * would: the body runs synchronously, and a throw rejects the promise instead of escaping the call.
 */
export function settleNow<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}
