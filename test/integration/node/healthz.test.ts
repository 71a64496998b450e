// flanneld's health endpoints and FLANNELD_* environment variables on a real agent (in a namespace
// the test creates, a veth uplink holding the public IP): /healthz answers at once, /readyz 503
// while the agent waits for its lease (etcd unreachable) and 200 once lease, routes and subnet.env
// are in place; the flags come from FLANNELD_HEALTHZ_PORT, FLANNELD_PUBLIC_IP, FLANNELD_IP_MASQ….
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRootOrSkip } from '../../helpers/root.js';
import { cleanupNetns, createNetns, createVethPair, type Netns } from '../../helpers/netns.js';
import { CLI, stopProcess } from '../../helpers/cluster.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireRootOrSkip('healthz integration tests (network namespaces, TUN devices)');
const PREFIX = 'flt-healthz';

async function get(ns: Netns, port: number, what: string): Promise<string> {
  const r = await ns.exec('curl', ['-s', '-m', '2', '-w', ' %{http_code}', `http://127.0.0.1:${port}/${what}`]);
  return r.stdout;
}

describe.skipIf(skip)('--healthz-port: /healthz and /readyz, flags from FLANNELD_* variables', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-healthz-'));
  let ns: Netns;
  const procs: ChildProcess[] = [];
  const start = (env: Record<string, string>, args: string[]): ChildProcess => {
    const log = fs.openSync(path.join(stateDir, `node${procs.length}.log`), 'a');
    const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI, 'node', ...args], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...env },
    });
    fs.closeSync(log);
    procs.push(p);
    return p;
  };
  beforeAll(async () => {
    ns = await createNetns(PREFIX);
    const other = await createNetns(PREFIX);
    await createVethPair(ns, 'eth0', '192.168.88.1/24', other, 'eth0', '192.168.88.2/24');
  });
  afterAll(async () => {
    for (const p of procs) await stopProcess(p).catch(() => undefined);
    await cleanupNetns(PREFIX);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('is running but not ready while the lease cannot be had (etcd unreachable)', async () => {
    const p = start({ FLANNELD_HEALTHZ_PORT: '10271', FLANNELD_PUBLIC_IP: '192.168.88.1' }, [
      '--name',
      'waiting',
      '--etcd-endpoints',
      'http://127.0.0.1:9',
      '--state-dir',
      stateDir,
    ]);
    await waitUntil(async () => (await get(ns, 10271, 'healthz')) === 'flanneld is running 200', '/healthz', 20_000);
    expect(await get(ns, 10271, 'readyz')).toBe('flanneld is not ready yet 503');
    expect(await stopProcess(p)).toBe(0);
  });

  it('is ready once the lease, routes and subnet.env are in place', async () => {
    const subnetFile = path.join(stateDir, 'subnet.env');
    start(
      {
        FLANNELD_HEALTHZ_PORT: '10272',
        FLANNELD_HEALTHZ_IP: '127.0.0.1',
        FLANNELD_PUBLIC_IP: '192.168.88.1',
        FLANNELD_SUBNET: '10.244.1.0/24',
        FLANNELD_NETWORK: '10.244.0.0/16',
        FLANNELD_SUBNET_FILE: subnetFile,
        FLANNELD_IP_MASQ: 'true',
      },
      ['--name', 'ready', '--peer', 'name=node2,ip=192.168.88.2,subnet=10.244.2.0/24,mac=0e:00:00:00:02:01'].concat([
        '--state-dir',
        stateDir,
      ]),
    );
    await waitUntil(async () => (await get(ns, 10272, 'readyz')) === 'flanneld is ready 200', '/readyz', 20_000);
    expect(await get(ns, 10272, 'healthz')).toBe('flanneld is running 200');
    expect(await get(ns, 10272, 'nope')).toBe(' 404');
    expect(fs.readFileSync(subnetFile, 'utf8')).toContain('FLANNEL_IPMASQ=true\n');
    expect((await ns.ip('route', 'show', '10.244.2.0/24')).stdout).toMatch(/dev flannel\.1/);
    expect((await ns.exec('nft', ['list', 'tables'])).stdout).toContain('table ip flannel-ipv4');
  });
});
