// A node for kubelet tests (root only): a network namespace `flt-<tag>-<rand>-n` with the cni0 bridge
// holding the gateway of a /24, a state directory under /tmp, and a KubeletConfig pointing at both.
// Pods are v1 objects built by makePod. cleanup() removes the namespaces (pods' too) and the directory.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Container, Pod } from '../../../src/k8s/types.js';
import type { KubeletConfig } from '../../../src/kubelet/config.js';
import { run } from '../../helpers/netns.js';

export interface TestNode {
  cfg: KubeletConfig;
  dir: string;
  cleanup(): Promise<void>;
}

export async function createTestNode(tag: string, subnet = 7): Promise<TestNode> {
  const id = `${tag}${randomBytes(2).toString('hex')}`;
  const prefix = `flt-${id}-`;
  const nodeNetns = `${prefix}n`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flt-kubelet-${id}-`));
  await run('ip', ['netns', 'add', nodeNetns]);
  const gw = `10.250.${subnet}.1`;
  for (const line of [
    'link set lo up',
    'link add cni0 type bridge',
    `addr add ${gw}/24 dev cni0`,
    'link set cni0 up',
  ]) {
    await run('ip', ['-n', nodeNetns, ...line.split(' ')]);
  }
  const cfg: KubeletConfig = {
    nodeName: 'node1',
    lab: id,
    labDir: dir,
    netnsPrefix: prefix,
    nodeNetns,
    podCIDR: `10.250.${subnet}.0/24`,
    gateway: gw,
    bridge: 'cni0',
    mtu: 1450,
    publicIp: '192.168.50.2',
    apiSocket: path.join(dir, 'api.sock'),
    tokenFile: path.join(dir, 'token'),
    stateDir: path.join(dir, 'nodes', 'node1'),
    socket: path.join(dir, 'kubelet.sock'),
    annotations: {},
    labels: {},
    images: {},
    backoffBaseMs: 10_000,
    backoffCapMs: 300_000,
  };
  return {
    cfg,
    dir,
    async cleanup() {
      const all = fs.readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
      for (const ns of all) {
        const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
        for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      for (const ns of all) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function makePod(
  name: string,
  containers: Container[],
  extra: Partial<Pod['spec']> = {},
  namespace = 'default',
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
    spec: { nodeName: 'node1', containers, restartPolicy: 'Always', terminationGracePeriodSeconds: 30, ...extra },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
