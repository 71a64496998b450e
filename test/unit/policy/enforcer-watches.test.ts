// The NetworkPolicy enforcer (src/policy/enforcer.ts) watches Pods and Namespaces only once a NetworkPolicy
// exists: with none it lists and watches NetworkPolicies alone and still applies its (empty) table; the first
// policy starts the Pod and Namespace informers, deleting the last one ends them, the next starts them again. The API is a scripted stand-in (lists answer at once,
// watches hang until a test pushes an event or the enforcer stops); nft is a recorder.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../src/kclient/api-client.js';
import type { WatchEvent } from '../../../src/k8s/types.js';
import { PolicyEnforcer } from '../../../src/policy/enforcer.js';
import { realClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';
import { waitUntil } from '../../helpers/wait.js';

// one pod on node1, so a policy selecting it isolates it (a ruleset to apply)
const pod = {
  metadata: { namespace: 'default', name: 'web', labels: { app: 'web' }, resourceVersion: '1' },
  spec: { nodeName: 'node1', containers: [] },
  status: { phase: 'Running', podIP: '10.244.1.2', podIPs: [{ ip: '10.244.1.2' }] },
};
const ns = {
  metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' }, resourceVersion: '1' },
};

function stubApi() {
  const calls: string[] = [];
  const watchers = new Map<string, (e: WatchEvent) => void>();
  const api = {
    request: (_method: string, path: string) => {
      calls.push(`GET ${path}`);
      const items = path === '/api/v1/pods' ? [pod] : path === '/api/v1/namespaces' ? [ns] : [];
      return Promise.resolve({ status: 200, body: { items, metadata: { resourceVersion: '1' } } as never });
    },
    watch: async (path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal) => {
      calls.push(`WATCH ${path.split('?')[0]}`);
      watchers.set(path.split('?')[0], onEvent);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      calls.push(`ENDED ${path.split('?')[0]}`);
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
  it('lists only NetworkPolicies until one exists, then Pods and Namespaces too, until the last is deleted', async () => {
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
    const policy = (type: 'ADDED' | 'DELETED', rv: string): void =>
      watchers.get(policies)!({
        type,
        object: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { namespace: 'default', name: 'deny', resourceVersion: rv },
          spec: { podSelector: {}, policyTypes: ['Ingress'] },
        },
      } as WatchEvent);
    const count = (c: string): number => calls.filter((x) => x === c).length;
    policy('ADDED', '2');
    await waitUntil(
      () => count('GET /api/v1/pods') === 1 && count('GET /api/v1/namespaces') === 1,
      'pods and namespaces listed once a policy exists',
    );
    await waitUntil(() => e.transactions === 2, 'the policy applied');
    expect(scripts[1]).toContain('drop');
    policy('DELETED', '3');
    await waitUntil(
      () => count('ENDED /api/v1/pods') === 1 && count('ENDED /api/v1/namespaces') === 1,
      'the pod and namespace watches end with the last policy',
    );
    await waitUntil(() => e.transactions === 3, 'the isolation removed');
    expect(count(`ENDED ${policies}`)).toBe(0);
    policy('ADDED', '4');
    await waitUntil(
      () => count('GET /api/v1/pods') === 2 && count('GET /api/v1/namespaces') === 2,
      'listed afresh for the next policy',
    );
  });
});
