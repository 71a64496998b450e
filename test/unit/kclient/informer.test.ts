// The shared list-watch informer (src/kclient/informer.ts) against a scripted API: list then watch from
// the list's resourceVersion, ADDED/MODIFIED/DELETED applied, ERROR (410) relists, an unreachable API is
// retried with the back-off drawn from the injected rng on the injected clock.
import { describe, expect, it } from 'vitest';
import { Informer, backoffMs } from '../../../src/kclient/informer.js';
import type { KubeObject, WatchEvent } from '../../../src/k8s/types.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng, type Rng } from '../../../src/util/rng.js';

type Step = { list: KubeObject[]; rv: string } | { listFails: string } | { events: WatchEvent[]; status?: number };

const obj = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: 'default', name, resourceVersion: rv },
});

/** Answers requests and watches from a script, in order; past the end, a watch hangs until aborted. */
function scriptedApi(steps: Step[]) {
  const calls: string[] = [];
  const next = (): Step | undefined => steps.shift();
  return {
    calls,
    request: async (_method: string, path: string) => {
      calls.push(`GET ${path}`);
      await Promise.resolve();
      const s = next();
      if (!s || 'events' in s) throw new Error(`unexpected list (script at ${JSON.stringify(s)})`);
      if ('listFails' in s) throw new Error(s.listFails);
      return { status: 200, body: { items: s.list, metadata: { resourceVersion: s.rv } } as never };
    },
    watch: async (path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal) => {
      calls.push(`WATCH ${path}`);
      const s = steps[0];
      if (!s || !('events' in s)) {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        return { status: 0 };
      }
      steps.shift();
      for (const e of s.events) onEvent(e);
      return { status: s.status ?? 200 };
    },
  };
}

const fixedRng = (v: number): Rng => ({ next: () => v, nextU32: () => Math.floor(v * 2 ** 32) });
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('kclient Informer', () => {
  it('lists, watches from the list resourceVersion and applies events; ERROR relists after the back-off', async () => {
    const api = scriptedApi([
      { list: [obj('a', '5')], rv: '10' },
      {
        events: [
          { type: 'ADDED', object: obj('b', '11') },
          { type: 'MODIFIED', object: obj('a', '12') },
          { type: 'BOOKMARK', object: { apiVersion: 'v1', kind: 'Service', metadata: { resourceVersion: '13' } } },
          { type: 'DELETED', object: obj('b', '14') },
        ],
      },
      {
        events: [
          { type: 'ERROR', object: { apiVersion: 'v1', kind: 'Status', status: 'Failure', code: 410 } as never },
        ],
      },
      { list: [obj('c', '20')], rv: '30' },
    ]);
    const clock = new VirtualClock();
    let changes = 0;
    const inf = new Informer<KubeObject>({
      api,
      path: '/api/v1/services',
      onChange: () => changes++,
      rng: fixedRng(0.5),
      clock,
      log: { warn: () => {} },
      retryMs: 100,
    });
    expect(inf.hasSynced).toBe(false);
    inf.start();
    for (let i = 0; i < 20; i++) await settle();
    // the first list (1 change), ADDED + MODIFIED + DELETED (3); the bookmark is not a change
    expect(inf.hasSynced).toBe(true);
    expect(changes).toBe(4);
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(api.calls[1]).toContain('resourceVersion=10');
    expect(api.calls[2]).toContain('resourceVersion=14'); // re-watched from the last event seen
    // the ERROR broke the watch: nothing is relisted until the back-off (100 ms × 1.0 with rng 0.5) passes
    expect(api.calls.filter((c) => c.startsWith('GET'))).toHaveLength(1);
    clock.advance(99);
    await settle();
    expect(api.calls.filter((c) => c.startsWith('GET'))).toHaveLength(1);
    clock.advance(1);
    for (let i = 0; i < 10; i++) await settle();
    expect(api.calls.filter((c) => c.startsWith('GET'))).toHaveLength(2);
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['c']);
    expect(api.calls.at(-1)).toContain('resourceVersion=30');
    await inf.stop();
  });

  it('retries an unreachable API with a doubling, rng-jittered back-off and logs each failure', async () => {
    const api = scriptedApi([
      { listFails: 'connect ENOENT' },
      { listFails: 'connect ENOENT' },
      { list: [obj('a', '1')], rv: '2' },
    ]);
    const clock = new VirtualClock();
    const warnings: string[] = [];
    const inf = new Informer<KubeObject>({
      api,
      path: '/api/v1/pods',
      onChange: () => {},
      rng: fixedRng(0),
      clock,
      log: { warn: (m) => warnings.push(m) },
      retryMs: 1000,
    });
    inf.start();
    for (let i = 0; i < 5; i++) await settle();
    expect(warnings).toEqual(['/api/v1/pods: connect ENOENT; retrying']);
    clock.advance(749); // first retry: 1000 × 2^0 × 0.75
    await settle();
    expect(api.calls).toHaveLength(1);
    clock.advance(1);
    for (let i = 0; i < 5; i++) await settle();
    expect(api.calls).toHaveLength(2);
    clock.advance(1499); // second: 1000 × 2^1 × 0.75
    await settle();
    expect(api.calls).toHaveLength(2);
    clock.advance(1);
    for (let i = 0; i < 10; i++) await settle();
    expect(inf.hasSynced).toBe(true);
    expect(inf.list()).toHaveLength(1);
    await inf.stop();
  });

  it('back-off: capped at 16×, jitter within 75–125 % and repeatable from a seed', () => {
    expect(backoffMs(500, 1, fixedRng(0))).toBe(375);
    expect(backoffMs(500, 9, fixedRng(0.999999))).toBeCloseTo(500 * 16 * 1.25, 0);
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          backoffMs(500, 3, r)
      )(seededRng(7)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          backoffMs(500, 3, r)
      )(seededRng(7)),
    );
    expect(a).toEqual(b);
    for (const ms of a) expect(ms >= 1500 && ms < 2500).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('stop() ends a hanging watch and a pending back-off', async () => {
    const api = scriptedApi([{ listFails: 'down' }]);
    const clock = new VirtualClock();
    const inf = new Informer<KubeObject>({
      api,
      path: '/x',
      onChange: () => {},
      rng: fixedRng(0),
      clock,
      log: { warn: () => {} },
    });
    inf.start();
    await settle();
    await inf.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
