// The NetworkPolicy enforcer (src/policy/enforcer.ts) watches Pods and Namespaces only once a NetworkPolicy
// exists: with none it lists and watches NetworkPolicies alone and still applies its (empty) table; the first
// policy starts the Pod and Namespace informers. The API is a scripted stand-in (lists answer at once,
// watches hang until a test pushes an event or the enforcer stops); nft is a recorder.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../src/kclient/api-client.js';
import type { WatchEvent } from '../../../src/k8s/types.js';
import { PolicyEnforcer } from '../../../src/policy/enforcer.js';
import { realClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';
import { waitUntil } from '../../helpers/wait.js';

function stubApi() {
  const calls: string[] = [];
  const watchers = new Map<string, (e: WatchEvent) => void>();
  const api = {
    request: (_method: string, path: string) => {
      calls.push(`GET ${path}`);
      return Promise.resolve({ status: 200, body: { items: [], metadata: { resourceVersion: '1' } } as never });
    },
    watch: async (path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal) => {
      calls.push(`WATCH ${path.split('?')[0]}`);
      watchers.set(path.split('?')[0], onEvent);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      return { status: 0 };
    },
  };
  return { api: api as unknown as ApiClient, calls, watchers };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('PolicyEnforcer watches', () => {
  it('lists only NetworkPolicies until one exists, then Pods and Namespaces too', async () => {
    const { api, calls, watchers } = stubApi();
    const scripts: string[] = [];
    const e = new PolicyEnforcer({
      api,
      nodeName: 'node1',
      netns: 'flt-x-node1',
      log: { info: () => undefined, warn: () => undefined },
      rng: seededRng(1),
      clock: realClock,
      nft: (_ns, script) => {
        scripts.push(script);
        return Promise.resolve();
      },
    });
    stop = () => e.stop();
    e.start();
    await waitUntil(() => e.transactions === 1, 'the empty table applied');
    expect(calls.some((c) => c.includes('/api/v1/pods') || c.includes('/api/v1/namespaces'))).toBe(false);
    const policies = '/apis/networking.k8s.io/v1/networkpolicies';
    await waitUntil(() => watchers.has(policies), 'the policy watch');
    watchers.get(policies)!({
      type: 'ADDED',
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: 'default', name: 'deny', resourceVersion: '2' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    } as WatchEvent);
    await waitUntil(
      () => calls.includes('GET /api/v1/pods') && calls.includes('GET /api/v1/namespaces'),
      'pods and namespaces listed once a policy exists',
    );
  });
});
