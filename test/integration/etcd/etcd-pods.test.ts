// Issue 5 end to end: flannelette nodes that lease their subnets from a real etcd (flannel's key
// layout), with real pods behind them. etcd runs in an underlay namespace on a bridge that every node
// namespace reaches by a veth; nodes are CLI processes with --etcd-endpoints and no --subnet.
// Checks: `network init` + three nodes with distinct leases and pod traffic; a fourth node learned
// within 2 s; a SIGKILLed node dropped once its lease expires; a 10 s etcd outage that pod traffic
// does not notice; flannel's JSON as etcdctl shows it; a node programmed from those values the way
// flanneld programs the kernel VXLAN device; a malformed lease skipped.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ping } from '../../helpers/cluster.js';
import { createEtcdCluster, logTail, type EtcdCluster, type EtcdHost } from '../../helpers/etcd-cluster.js';
import { requireEtcdOrSkip } from '../../helpers/etcd.js';
import { cleanupNetns } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { settleNow } from '../../../src/util/promise.js';

const PREFIX = 'flt-etcd-';
const skip =
  requireRootOrSkip('etcd end-to-end tests (network namespaces, TUN devices)') ||
  !requireEtcdOrSkip('etcd end-to-end tests');
// Short leases everywhere: expiry is quick to observe, and an etcd outage longer than the TTL must
// still not cost any node its lease.
const TTL = 5;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` until it holds; resolves with the elapsed ms, rejects after `timeoutMs`. */
async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Lines of `etcdctl get --prefix` as [key, value] pairs (keys and values are single lines here). */
function pairs(output: string): Array<[string, string]> {
  const lines = output.split('\n').filter((l) => l !== '');
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < lines.length; i += 2) out.push([lines[i], lines[i + 1]]);
  return out;
}

describe.skipIf(skip)('flannelette nodes with etcd membership, pods end to end', () => {
  let c: EtcdCluster;
  let nodes: EtcdHost[] = [];
  const alive = (): EtcdHost[] => nodes.filter((n) => n.proc && n.proc.exitCode === null && n.proc.signalCode === null);
  const routesTo = async (from: EtcdHost, subnet: string): Promise<boolean> =>
    (await c.routes(from)).some((r) => r.subnet === subnet);
  const subnetKeys = (): string[] =>
    c.etcd.etcdctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean);
  /** A /24 of 10.244.0.0/16 no lease holds, `preferred` if free. */
  const freeSubnet = (preferred: number): string => {
    const taken = new Set(subnetKeys().map((k) => k.slice(k.lastIndexOf('/') + 1)));
    for (let i = 0; i < 255; i++) {
      const third = ((preferred - 1 + i) % 254) + 1;
      if (!taken.has(`10.244.${third}.0-24`)) return `10.244.${third}.0/24`;
    }
    throw new Error('no free subnet');
  };
  /** key → { create_revision, lease } of every subnet key (a re-created key has a new create_revision). */
  const leaseRecords = (): Map<string, { created: string; lease: string }> => {
    const json = JSON.parse(c.etcd.etcdctl('get', '--prefix', '/coreos.com/network/subnets/', '-w', 'json')) as {
      kvs?: Array<{ key: string; create_revision: number; lease?: number }>;
    };
    // etcdctl prints 64-bit numbers as JSON numbers: lease ids lose precision but stay comparable
    return new Map(
      (json.kvs ?? []).map((kv) => [
        Buffer.from(kv.key, 'base64').toString(),
        { created: String(kv.create_revision), lease: String(kv.lease ?? 0) },
      ]),
    );
  };
  const logLines = (n: EtcdHost): Array<{ time: number; msg: string }> =>
    logTail(n, 10_000_000)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { time: number; msg: string });
  const expectAllAlive = async (): Promise<void> => {
    for (const n of alive()) {
      const s = await c.status(n);
      expect(s.subnet, n.name).toBe(n.subnet);
    }
  };

  beforeAll(async () => {
    await cleanupNetns(PREFIX);
    c = await createEtcdCluster('flt-etcd');
  }, 60_000);
  afterAll(async () => {
    if (c) {
      for (const n of c.hosts) {
        if (n.proc && n.proc.exitCode !== null && n.proc.signalCode === null)
          console.warn(`node ${n.name} exited with ${n.proc.exitCode}:\n${logTail(n)}`);
      }
      await c.destroy();
    }
    await cleanupNetns(PREFIX);
  }, 60_000);

  it('network init writes the config; three nodes lease distinct /24s; pods ping each other', async () => {
    const init = await c.cli(
      'network',
      'init',
      '--etcd-endpoints',
      c.endpoint,
      '--network',
      '10.244.0.0/16',
      '--backend',
      'vxlan',
    );
    expect(init.stdout).toContain('wrote /coreos.com/network/config');
    const again = await c.cli(
      'network',
      'init',
      '--etcd-endpoints',
      c.endpoint,
      '--network',
      '10.244.0.0/16',
      '--backend',
      'vxlan',
    );
    expect(again.stdout).toContain('unchanged');

    nodes = [await c.addHost('n1', 1), await c.addHost('n2', 2), await c.addHost('n3', 3)];
    // started together: they race for subnets in etcd
    const statuses = await Promise.all(nodes.map((n) => c.startNode(n, ['--lease-ttl', String(TTL)])));
    const subnets = statuses.map((s) => s.subnet);
    expect(new Set(subnets).size).toBe(3);
    for (const s of statuses) {
      expect(s.subnet).toMatch(/^10\.244\.(\d+)\.0\/24$/);
      expect(Number(/^10\.244\.(\d+)\./.exec(s.subnet)![1])).toBeGreaterThanOrEqual(1);
      expect(s.membership).toMatchObject({ source: 'etcd' });
    }
    for (const n of nodes) await c.addPod(n);
    // each node routes to the other two
    for (const n of nodes) {
      await waitFor(
        `${n.name} to route to its peers`,
        async () => {
          const r = (await c.routes(n)).map((e) => e.subnet).sort();
          return (
            JSON.stringify(r) ===
            JSON.stringify(
              nodes
                .filter((p) => p !== n)
                .map((p) => p.subnet)
                .sort(),
            )
          );
        },
        5000,
      );
    }
    for (const a of nodes) {
      for (const b of nodes) {
        if (a !== b) expect(await ping(a.pod!, b.podIp!, 2), `${a.name} pod → ${b.name} pod`).toBe(2);
      }
    }
  }, 90_000);

  it('a fourth node is routed to by the other three within 2 s of its lease, and its pod answers', async () => {
    const [n1, n2, n3] = nodes;
    const n4 = await c.addHost('n4', 4);
    const before = new Set(subnetKeys());
    const started = c.startNode(n4, ['--lease-ttl', String(TTL)]);
    // time from the lease appearing in etcd to every other node routing to it
    let newKey = '';
    await waitFor(
      'the fourth lease in etcd',
      () =>
        settleNow(() => {
          newKey = subnetKeys().find((k) => !before.has(k)) ?? '';
          return newKey !== '';
        }),
      30_000,
      20,
    );
    const subnet = newKey.slice(newKey.lastIndexOf('/') + 1).replace('-', '/');
    const learned = await waitFor(
      'three nodes to route to the fourth',
      async () => (await Promise.all([n1, n2, n3].map((n) => routesTo(n, subnet)))).every(Boolean),
      5000,
      20,
    );
    const s4 = await started;
    expect(s4.subnet).toBe(subnet);
    expect(learned).toBeLessThan(2000);
    nodes.push(n4);
    await c.addPod(n4);
    expect(await ping(n1.pod!, n4.podIp!, 2)).toBe(2);
    expect(await ping(n4.pod!, n2.podIp!, 2)).toBe(2);
    // nobody restarted
    for (const n of [n1, n2, n3]) expect(n.proc!.exitCode).toBeNull();
  }, 60_000);

  it('a SIGKILLed node (lease not revoked) is dropped by the others once its lease TTL passes', async () => {
    const n4 = nodes[3];
    const others = nodes.slice(0, 3);
    await c.stopNode(n4, 'SIGKILL');
    const killedAt = Date.now();
    // the lease outlives the process: the key is still there and the others still route to it
    expect(subnetKeys()).toContain(`/coreos.com/network/subnets/${n4.subnet!.replace('/', '-')}`);
    for (const n of others) expect(await routesTo(n, n4.subnet!)).toBe(true);
    await waitFor(
      'the others to drop the dead node',
      async () => (await Promise.all(others.map((n) => routesTo(n, n4.subnet!)))).every((r) => !r),
      (TTL + 10) * 1000,
      100,
    );
    const gone = Date.now() - killedAt;
    // renewed every TTL/3, so at least 2/3 of the TTL was left when it died
    expect(gone).toBeGreaterThan(((TTL * 2) / 3) * 1000 - 1000);
    expect(subnetKeys()).not.toContain(`/coreos.com/network/subnets/${n4.subnet!.replace('/', '-')}`);
    // the kernel routes went too
    const kernelRoutes = (await others[0].ns.ip('route', 'show')).stdout;
    expect(kernelRoutes).not.toContain(n4.subnet!);
    expect(await ping(others[0].pod!, others[1].podIp!, 2)).toBe(2);
  }, 60_000);

  it('a 10 s etcd outage (twice the lease TTL) does not stop pod traffic nor cost a lease; a node joining afterwards is learned', async () => {
    const [n1, n2, n3] = nodes;
    const three = [n1, n2, n3];
    const before = leaseRecords();
    const count = 100; // 20 s at 0.2 s: the outage, and the TTL after it
    const pinger = new Promise<{ received: number; out: string }>((resolve) => {
      const p = spawn(
        'ip',
        ['netns', 'exec', n1.pod!.name, 'ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', n2.podIp!],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('exit', () => resolve({ received: Number(/(\d+) received/.exec(out)?.[1] ?? 0), out }));
    });
    await sleep(1500);
    const downAt = Date.now();
    await c.etcd.pause();
    await sleep(5000);
    // mid-outage: still forwarding, still answering, and saying etcd is unavailable
    expect(await ping(n3.pod!, n1.podIp!, 2)).toBe(2);
    await waitFor(
      'a node to notice the outage',
      async () => (await c.status(n1)).membership.state !== 'running',
      10_000,
      200,
    );
    await sleep(Math.max(0, downAt + 10_000 - Date.now()));
    await c.etcd.resume();
    const { received, out } = await pinger;
    expect(received, out.slice(-500)).toBeGreaterThanOrEqual(count - 2);
    for (const n of three) {
      expect(n.proc!.exitCode, logTail(n)).toBeNull();
      await waitFor(
        `${n.name} to be running again`,
        async () => (await c.status(n)).membership.state === 'running',
        20_000,
        200,
      );
    }
    // more than a TTL after etcd came back, the same keys, never expired and re-created (the same
    // create_revision; renewals put them on new etcd leases, as flannel's RenewLease does), and no
    // node ever dropped a peer
    const after = leaseRecords();
    for (const n of three) {
      const key = `/coreos.com/network/subnets/${n.subnet!.replace('/', '-')}`;
      expect(after.get(key)?.created, key).toBe(before.get(key)!.created);
      expect(
        logLines(n).filter((l) => l.time >= downAt && l.msg === 'peer removed'),
        n.name,
      ).toEqual([]);
    }
    const n5 = await c.addHost('n5', 5);
    const s5 = await c.startNode(n5, ['--lease-ttl', String(TTL)]);
    for (const n of three) await waitFor(`${n.name} to learn n5`, () => routesTo(n, s5.subnet), 5000);
    nodes.push(n5);
    await c.addPod(n5);
    expect(await ping(n5.pod!, n3.podIp!, 2)).toBe(2);
    expect(await ping(n2.pod!, n5.podIp!, 2)).toBe(2);
  }, 90_000);

  it("etcdctl shows flannel's JSON for the config and every lease", async () => {
    const kvs = pairs(c.etcd.etcdctl('get', '--prefix', '/coreos.com/network'));
    const config = kvs.find(([k]) => k === '/coreos.com/network/config');
    expect(config).toBeDefined();
    const cfg = JSON.parse(config![1]) as Record<string, unknown>;
    expect(cfg.Network).toBe('10.244.0.0/16');
    expect(cfg.Backend).toEqual({ Type: 'vxlan', VNI: 1, Port: 8472 });
    for (const [k, v] of Object.entries(cfg)) {
      expect(['Network', 'SubnetLen', 'SubnetMin', 'SubnetMax', 'Backend']).toContain(k);
      if (k !== 'Backend') expect(typeof v === 'string' || typeof v === 'number', k).toBe(true);
    }

    const leases = kvs.filter(([k]) => k.startsWith('/coreos.com/network/subnets/'));
    const live = alive();
    expect(leases.map(([k]) => k).sort()).toEqual(
      live.map((n) => `/coreos.com/network/subnets/${n.subnet!.replace('/', '-')}`).sort(),
    );
    for (const [key, value] of leases) {
      const n = live.find((h) => key.endsWith(`/${h.subnet!.replace('/', '-')}`))!;
      const status = await c.status(n);
      expect(key).toMatch(/^\/coreos\.com\/network\/subnets\/10\.244\.\d{1,3}\.0-24$/);
      const lease = JSON.parse(value) as Record<string, unknown>;
      expect(Object.keys(lease)).toEqual(['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData']);
      expect(lease.PublicIP).toBe(n.publicIp);
      expect(lease.PublicIPv6).toBeNull();
      expect(lease.BackendType).toBe('vxlan');
      const data = lease.BackendData as Record<string, unknown>;
      expect(Object.keys(data)).toEqual(['VNI', 'VtepMAC']);
      expect(data.VNI).toBe(1);
      expect(data.VtepMAC).toMatch(MAC);
      expect(data.VtepMAC).toBe(status.vtepMac);
    }
    // every lease key is attached to an etcd lease (that is what lets a dead node expire)
    const json = JSON.parse(c.etcd.etcdctl('get', '--prefix', '/coreos.com/network/subnets/', '-w', 'json')) as {
      kvs: Array<{ lease?: number | string }>;
    };
    expect(json.kvs.length).toBe(leases.length);
    for (const kv of json.kvs) expect(BigInt(kv.lease ?? 0)).toBeGreaterThan(0n);
  }, 30_000);

  it('a node programmed from etcd the way flanneld programs kernel VXLAN exchanges pod traffic with flannelette pods', async () => {
    const [n1, n2] = nodes;
    const k = await c.addHost('kern', 50);
    k.subnet = freeSubnet(150);
    const k0 = k.subnet.replace(/\/\d+$/, '');
    const kmac = '0e:00:00:00:96:01';
    const dev = 'flannel.1';
    await k.ns.ip(
      'link',
      'add',
      dev,
      'type',
      'vxlan',
      'id',
      '1',
      'local',
      k.publicIp,
      'dev',
      'under',
      'dstport',
      '8472',
      'nolearning',
    );
    await k.ns.ip('link', 'set', dev, 'address', kmac);
    await k.ns.ip('addr', 'add', `${k0}/32`, 'dev', dev);
    await k.ns.ip('link', 'set', dev, 'mtu', '1450', 'up');
    await k.ns.exec('ethtool', ['-K', 'under', 'tx', 'off']);
    // flanneld's handling of each lease it reads from etcd
    const leases = pairs(c.etcd.etcdctl('get', '--prefix', '/coreos.com/network/subnets/'));
    expect(leases.length).toBeGreaterThanOrEqual(2);
    for (const [key, value] of leases) {
      const subnet = key.slice(key.lastIndexOf('/') + 1).replace('-', '/');
      const lease = JSON.parse(value) as { PublicIP: string; BackendData: { VtepMAC: string } };
      const net0 = subnet.replace(/\/\d+$/, '');
      await k.ns.ip('neigh', 'replace', net0, 'lladdr', lease.BackendData.VtepMAC, 'dev', dev, 'nud', 'permanent');
      await k.ns.exec('bridge', ['fdb', 'append', lease.BackendData.VtepMAC, 'dev', dev, 'dst', lease.PublicIP]);
      await k.ns.ip('route', 'replace', subnet, 'via', net0, 'dev', dev, 'onlink');
    }
    // and its own lease, attached to an etcd lease like flanneld's
    const grant = c.etcd.etcdctl('lease', 'grant', '60');
    const leaseId = /lease ([0-9a-f]+) granted/.exec(grant)?.[1];
    expect(leaseId, grant).toBeDefined();
    const value = JSON.stringify({
      PublicIP: k.publicIp,
      PublicIPv6: null,
      BackendType: 'vxlan',
      BackendData: { VNI: 1, VtepMAC: kmac },
    });
    c.etcd.etcdctl('put', `--lease=${leaseId}`, `/coreos.com/network/subnets/${k0}-24`, value);
    await c.addPod(k);
    for (const n of alive()) {
      await waitFor(
        `${n.name} to learn the kernel node`,
        async () =>
          (await c.routes(n)).some((r) => r.subnet === k.subnet && r.vtepMac === kmac && r.publicIp === k.publicIp),
        5000,
      );
    }
    expect(await ping(n1.pod!, k.podIp!, 3)).toBe(3);
    expect(await ping(k.pod!, n1.podIp!, 3)).toBe(3);
    expect(await ping(k.pod!, n2.podIp!, 2)).toBe(2);
    // revoking the kernel node's lease removes it everywhere at once
    c.etcd.etcdctl('lease', 'revoke', leaseId!);
    for (const n of alive())
      await waitFor(`${n.name} to drop the kernel node`, async () => !(await routesTo(n, k.subnet!)), 5000);
  }, 60_000);

  it('a malformed lease value is skipped: nodes keep running, answering and forwarding', async () => {
    const [n1, n2, n3] = nodes;
    const bad = freeSubnet(200);
    const key = `/coreos.com/network/subnets/${bad.replace('/', '-')}`;
    c.etcd.etcdctl('put', key, 'not json');
    c.etcd.etcdctl('put', '/coreos.com/network/subnets/garbage', '{"PublicIP":"192.168.77.9"}');
    c.etcd.etcdctl(
      'put',
      `/coreos.com/network/subnets/${freeSubnet(201).replace('/', '-')}`,
      '{"PublicIP":"192.168.77.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"nope"}}',
    );
    // the nodes saw it (logged once) and skipped it
    await waitFor(
      'the nodes to log the malformed lease',
      () => settleNow(() => [n1, n2, n3].every((n) => /skipping malformed lease/.test(logTail(n, 100_000)))),
      5000,
      100,
    );
    await sleep(300);
    for (const n of alive()) {
      expect(n.proc!.exitCode, logTail(n)).toBeNull();
      const routes = await c.routes(n);
      expect(routes.some((r) => r.publicIp === '192.168.77.9')).toBe(false);
      expect((await c.status(n)).membership.state).toBe('running');
    }
    await expectAllAlive();
    expect(await ping(n1.pod!, n2.podIp!, 2)).toBe(2);
    expect(await ping(n3.pod!, n1.podIp!, 2)).toBe(2);
    // a node that starts with the junk already in etcd comes up too
    const n6 = await c.addHost('n6', 6);
    const s6 = await c.startNode(n6, ['--lease-ttl', String(TTL)]);
    expect(s6.subnet).not.toBe(bad);
    await c.addPod(n6);
    expect(await ping(n6.pod!, n1.podIp!, 2)).toBe(2);
  }, 60_000);
});
