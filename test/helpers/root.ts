// Root detection for integration tests. Use:
//   describe.skipIf(requireRootOrSkip('TUN compliance'))('…', () => { … })
// Not root: prints a visible reason and returns true (skip) — but when process.env.CI is set it
// throws instead, so CI never silently skips. Root: returns false.

export const isRoot: boolean = typeof process.getuid === 'function' && process.getuid() === 0;

/** True when the caller should skip; throws under CI when not root. */
export function requireRootOrSkip(reason: string): boolean {
  if (isRoot) return false;
  if (process.env.CI) throw new Error(`${reason}: needs root (CI is set, so this fails instead of skipping)`);
  console.warn(`SKIPPED ${reason}: needs root (run the integration tests as root)`);
  return true;
}

/**
 * Same policy for any other precondition (e.g. the native addon is built): returns true (skip) with
 * a visible reason when `ok` is false, throws under CI.
 */
export function requireOrSkip(ok: boolean, reason: string): boolean {
  if (ok) return false;
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this fails instead of skipping)`);
  console.warn(`SKIPPED ${reason}`);
  return true;
}
