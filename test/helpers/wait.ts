// Waiting for a condition instead of sleeping a fixed time: polls `cond` every `everyMs` until it
// holds, and fails naming `what` after `timeoutMs`. A throwing or rejecting condition counts as
// "not yet". Deadlines are generous: they only bound a failing run, a passing one returns as soon
// as the condition holds (so a busy machine makes tests slower, not red).
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(cond)
        .catch(() => false)
    )
      return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
