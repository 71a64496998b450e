// Issue 19, flanneld's interface selection and lease keeping, with the real etcd: node namespaces
// with two interfaces (`under` on the etcd bridge, 192.168.77.x, and `mgmt`, 10.88.x.2/24, which
// holds the default route), flannelette nodes started without --public-ip. Checks: --iface by name,
// FLANNELD_IFACE, --iface-regex and --iface-can-reach each put the `under` address into the lease
// (etcdctl), the default-route interface when nothing is given, flannel's line and exit 1 when
// nothing matches (nothing left behind); a short test lease (--lease-ttl) renewed on a new etcd
// lease before it runs out; the key deleted with etcdctl, or another PublicIP written into it,
// ends the node with "Lease has been revoked. Shutting down daemon.", exit 1 and its TUN removed;
// host-gw nodes learning each other from etcd (their own prefix): kernel routes via the peers'
// public IPs, no TUN device, and pod pings both ways.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { ping } from '../../helpers/cluster.js';
import { CLI, stopProcess } from '../../helpers/cluster.js';
import { createEtcdCluster, type EtcdCluster, type EtcdHost } from '../../helpers/etcd-cluster.js';
import { requireEtcdOrSkip } from '../../helpers/etcd.js';
import { cleanupNetns, run } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const PREFIX = 'flt-ifl';
const skip =
  requireRootOrSkip('interface selection and lease tests (network namespaces, TUN devices)') ||
  !requireEtcdOrSkip('interface selection and lease tests');
const SUBNETS = '/coreos.com/network/subnets/';

interface Started {
  proc: ChildProcess;
  log: string;
  exit: Promise<number | null>;
}

describe.skipIf(skip)('flanneld interface selection and lease keeping, real etcd', () => {
  let c: EtcdCluster;
  const hosts: EtcdHost[] = [];
  const procs: ChildProcess[] = [];

  /** `flannelette node` in h's namespace with etcd membership and no --public-ip unless given. */
  const start = (h: EtcdHost, args: string[], env: Record<string, string> = {}): Started => {
    const log = path.join(c.stateDir, `${h.name}-${procs.length}.log`);
    const out = fs.openSync(log, 'a');
    const argv = ['netns', 'exec', h.ns.name, process.execPath, CLI, 'node', '--name', h.name];
    argv.push('--etcd-endpoints', c.endpoint, '--state-dir', c.stateDir, '--log-format', 'json', ...args);
    const proc = spawn('ip', argv, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
    fs.closeSync(out);
    procs.push(proc);
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    return { proc, log, exit };
  };
  const up = async (h: EtcdHost, s: Started): Promise<void> =>
    waitUntil(
      async () => {
        if (s.proc.exitCode !== null) throw new Error(`exited: ${fs.readFileSync(s.log, 'utf8').slice(-1500)}`);
        await rpcCall(h.socket, 'ping', {}, { timeoutMs: 500 });
        return true;
      },
      `${h.name} up`,
      30_000,
      100,
    ).catch((err: unknown) => {
      throw new Error(`${h.name}: ${String(err)}: ${fs.readFileSync(s.log, 'utf8').slice(-1500)}`);
    });
  /** key → { PublicIP, lease id } of every lease in etcd (ids read as text: they exceed 2^53). */
  const leases = (): Map<string, { publicIp: string; lease: string }> => {
    const text = c.etcd.etcdctl('get', '--prefix', SUBNETS, '-w', 'json').replace(/"lease":(\d+)/g, '"lease":"$1"');
    const json = JSON.parse(text) as { kvs?: Array<{ key: string; value: string; lease?: string }> };
    return new Map(
      (json.kvs ?? []).map((kv) => [
        Buffer.from(kv.key, 'base64').toString(),
        {
          publicIp: (JSON.parse(Buffer.from(kv.value, 'base64').toString()) as { PublicIP: string }).PublicIP,
          lease: kv.lease ?? '0',
        },
      ]),
    );
  };
  const keyOf = (publicIp: string): string | undefined => [...leases()].find(([, v]) => v.publicIp === publicIp)?.[0];
  const stop = async (s: Started): Promise<void> => {
    await stopProcess(s.proc, 'SIGTERM');
  };
  const tunOf = async (h: EtcdHost): Promise<boolean> => (await h.ns.ip('link', 'show')).stdout.includes('flannel.1');

  beforeAll(async () => {
    await cleanupNetns(PREFIX);
    c = await createEtcdCluster(PREFIX);
    const r = await c.cli('network', 'init', '--etcd-endpoints', c.endpoint, '--network', '10.244.0.0/16');
    expect(r.stderr).toBe('');
    for (let i = 1; i <= 3; i++) {
      const h = await c.addHost(`ifl${i}`, 10 + i);
      // a second interface holding the default route, as a management network would
      await h.ns.ip('link', 'add', 'mgmt', 'type', 'veth', 'peer', 'name', 'mgmt-peer');
      await h.ns.ip('link', 'set', 'mgmt-peer', 'up');
      await h.ns.ip('addr', 'add', `10.88.${i}.2/24`, 'dev', 'mgmt');
      await h.ns.ip('link', 'set', 'mgmt', 'up');
      await h.ns.ip('route', 'add', 'default', 'via', `10.88.${i}.1`);
      hosts.push(h);
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) await stopProcess(p, 'SIGKILL').catch(() => undefined);
    await c?.destroy();
    await cleanupNetns(PREFIX);
  }, 60_000);

  it('--iface NAME, FLANNELD_IFACE, --iface-regex and --iface-can-reach each lease with the under address', async () => {
    const [h1, h2, h3] = hosts;
    const cases: Array<[EtcdHost, string[], Record<string, string>]> = [
      [h1, ['--iface', 'nonexistent0', '--iface', 'under'], {}],
      [h2, [], { FLANNELD_IFACE: 'under' }],
      [h3, ['--iface-regex', '^192\\.168\\.77\\.'], {}],
    ];
    for (const [h, args, env] of cases) {
      const s = start(h, args, env);
      await up(h, s);
      expect(keyOf(h.publicIp), `${h.name} ${args.join(' ')}`).toBeDefined();
      const log = fs.readFileSync(s.log, 'utf8');
      expect(log).toContain(`Using interface with name under and address ${h.publicIp}`);
      if (args[1] === 'nonexistent0')
        expect(log).toContain('Could not find valid interface matching nonexistent0: error looking up interface');
      await stop(s);
    }
    const s = start(h1, ['--iface-can-reach', '192.168.77.254']);
    await up(h1, s);
    expect(fs.readFileSync(s.log, 'utf8')).toContain('Determining interface to use based on given ifcanreach');
    expect(keyOf(h1.publicIp)).toBeDefined();
    await stop(s);
  }, 120_000);

  it('nothing given: the default-route interface (mgmt) and its address go into the lease', async () => {
    const h = hosts[1];
    const s = start(h, []);
    await up(h, s);
    expect(keyOf('10.88.2.2')).toBeDefined();
    expect(fs.readFileSync(s.log, 'utf8')).toContain('Determining IP address of default interface');
    await stop(s);
    c.etcd.etcdctl('del', keyOf('10.88.2.2')!);
  }, 60_000);

  it("nothing matches: flannel's line, exit 1, no TUN device and no lease left", async () => {
    const h = hosts[2];
    const before = leases().size;
    const r = await run('ip', [
      ...['netns', 'exec', h.ns.name, process.execPath, CLI, 'node', '--name', h.name],
      ...['--etcd-endpoints', c.endpoint, '--state-dir', c.stateDir, '--log-level', 'silent'],
      ...['--iface', 'eth9', '--iface-regex', '^172\\.'],
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: Error) => ({ code: (err.cause as { code?: number }).code ?? -1, stderr: err.message }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'flannelette: Failed to find interface to use that matches the interfaces and/or regexes provided',
    );
    expect(await tunOf(h)).toBe(false);
    expect(leases().size).toBe(before);
  }, 60_000);

  it('a short test lease is renewed on a new etcd lease before it runs out', async () => {
    const h = hosts[0];
    const s = start(h, ['--iface', 'under', '--lease-ttl', '6']);
    await up(h, s);
    const key = keyOf(h.publicIp)!;
    const first = leases().get(key)!.lease;
    await waitUntil(() => leases().get(key)?.lease !== first, 'a renewal on a new etcd lease', 20_000, 200);
    const second = leases().get(key)!.lease;
    expect(second).not.toBe('0');
    await waitUntil(() => leases().get(key)?.lease !== second, 'a second renewal', 20_000, 200);
    const log = fs.readFileSync(s.log, 'utf8');
    expect(log).toMatch(/Waiting for [0-9.]+s to renew lease/);
    expect(log).toContain('Lease renewed, new expiration: ');
    expect(s.proc.exitCode).toBeNull();
    await stop(s);
  }, 60_000);

  it('the lease deleted with etcdctl, or taken over by another PublicIP, ends the node: exit 1, TUN removed', async () => {
    const [h1, h2] = hosts;
    const a = start(h1, ['--iface', 'under', '--lease-ttl', '30']);
    const b = start(h2, ['--iface', 'under', '--lease-ttl', '30']);
    await up(h1, a);
    await up(h2, b);
    expect(await tunOf(h1)).toBe(true);
    c.etcd.etcdctl('del', keyOf(h1.publicIp)!);
    expect(await a.exit).toBe(1);
    const keyB = keyOf(h2.publicIp)!;
    const taken =
      '{"PublicIP":"192.168.77.99","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:99"}}';
    c.etcd.etcdctl('put', keyB, taken);
    expect(await b.exit).toBe(1);
    for (const [h, s, reason] of [
      [h1, a, 'our subnet key was deleted or its lease expired'],
      [h2, b, 'another node (192.168.77.99) wrote our subnet key'],
    ] as const) {
      const lines = fs
        .readFileSync(s.log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; level: number; reason?: string });
      const revoked = lines.find((l) => l.msg === 'Lease has been revoked. Shutting down daemon.');
      expect(revoked, fs.readFileSync(s.log, 'utf8').slice(-3000)).toMatchObject({
        level: 50,
        reason,
      });
      expect(await tunOf(h)).toBe(false);
      expect(fs.existsSync(h.socket)).toBe(false);
    }
    expect(leases().get(keyB)?.publicIp).toBe('192.168.77.99'); // the node left the taken key alone
  }, 60_000);

  it('host-gw from etcd: nodes learn each other, route via the public IPs without a TUN, pods ping both ways', async () => {
    const prefix = '/hostgw/network';
    const init = await c.cli(
      ...['network', 'init', '--etcd-endpoints', c.endpoint, '--etcd-prefix', prefix],
      ...['--network', '10.245.0.0/16', '--backend', 'host-gw'],
    );
    expect(init.stderr).toBe('');
    const [h1, h2] = hosts;
    const started = [h1, h2].map((h) => start(h, ['--etcd-prefix', prefix, '--iface', 'under', '--lease-ttl', '30']));
    for (const [i, h] of [h1, h2].entries()) await up(h, started[i]);
    for (const h of [h1, h2]) {
      const st = (await rpcCall(h.socket, 'status', {}, { timeoutMs: 2000 })) as { subnet: string; backend: string };
      expect(st.backend).toBe('host-gw');
      h.subnet = st.subnet;
    }
    const [a, b] = [h1, h2];
    await waitUntil(
      async () => (await a.ns.ip('route', 'show')).stdout.includes(`${b.subnet} via ${b.publicIp} dev under`),
      `${a.name} to route ${b.subnet} via ${b.publicIp}`,
      10_000,
    );
    await waitUntil(
      async () => (await b.ns.ip('route', 'show')).stdout.includes(`${a.subnet} via ${a.publicIp} dev under`),
      `${b.name} to route ${a.subnet} via ${a.publicIp}`,
      10_000,
    );
    expect(await tunOf(a)).toBe(false);
    for (const h of [a, b]) await c.addPod(h);
    expect(await ping(a.pod!, b.podIp!, 2)).toBe(2);
    expect(await ping(b.pod!, a.podIp!, 2)).toBe(2);
    for (const s of started) await stop(s);
  }, 90_000);
});
