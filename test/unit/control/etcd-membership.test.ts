// src/control/etcd.ts over the in-memory etcd (src/control/memory-registry.ts) on a virtual clock:
// acquisition, renewal (lease-keeper.test.ts has flannel's margin), the watch, an outage of one node's connection, a compaction it missed,
// a lost lease (re-acquired, or taken meanwhile), a missing or invalid config and a full network.
// Every wait is virtual time; nothing here sleeps. The same behaviour against a real etcd is
// test/integration/control/etcd-membership.test.ts.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../../../src/addr/ipv4.js';
import { createEtcdMembership, type EtcdMembershipOptions } from '../../../src/control/etcd.js';
import { stateForError } from '../../../src/control/etcd-state.js';
import { decodeLeaseAttrs, formatSubnetKey } from '../../../src/control/flannel-format.js';
import type { LocalLease, Membership, MembershipEvent } from '../../../src/control/membership.js';
import { MemoryEtcd, type MemoryRegistry } from '../../../src/control/memory-registry.js';
import { writeNetworkConfig } from '../../../src/control/network-init.js';
import { VirtualClock } from '../../../src/util/clock.js';
import {
  ConfigError,
  DeviceError,
  NetworkConfigMissingError,
  StoppedError,
  SubnetExhaustedError,
  SubnetTakenError,
} from '../../../src/util/errors.js';
import { seededRng } from '../../../src/util/rng.js';

const PREFIX = '/coreos.com/network';
const TTL = 30;

/** Runs every promise continuation that is ready (the in-memory etcd answers in microtasks). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Member {
  m: Membership;
  reg: MemoryRegistry;
  events: MembershipEvent[];
  logs: Array<{ level: number; msg: string }>;
  lease?: LocalLease;
}

function world() {
  const clock = new VirtualClock();
  const etcd = new MemoryEtcd(clock);
  let seed = 1;
  const members: Member[] = [];

  /** Moves virtual time forward in small steps, letting the memberships react at each step. */
  const advance = async (ms: number, step = 50): Promise<void> => {
    await settle();
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await settle();
    }
  };

  const config = (network = '10.244.0.0/16', backend: 'vxlan' | 'udp' = 'vxlan', range?: [string, string]) =>
    writeNetworkConfig(etcd.connect(PREFIX), {
      network,
      backend,
      subnetMin: range && parseIpv4(range[0]),
      subnetMax: range && parseIpv4(range[1]),
      overwrite: true,
    });

  const create = (ip: string, extra: Partial<EtcdMembershipOptions> = {}): Member => {
    const logs: Member['logs'] = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void logs.push(JSON.parse(line) as Member['logs'][number]) },
    );
    const reg = etcd.connect(PREFIX);
    const m = createEtcdMembership({
      registry: reg,
      publicIp: parseIpv4(ip),
      logger,
      clock,
      rng: seededRng(seed++),
      leaseTtlSeconds: TTL,
      retry: { initialMs: 100, maxMs: 1000 },
      ...extra,
    });
    const member: Member = { m, reg, events: [], logs };
    members.push(member);
    return member;
  };

  const join = async (ip: string, extra: Partial<EtcdMembershipOptions> = {}): Promise<Member> => {
    const member = create(ip, extra);
    const started = member.m.start((e) => member.events.push(e));
    await settle();
    member.lease = await started;
    await settle();
    return member;
  };

  const keyOf = (x: Member): string => `${PREFIX}/subnets/${formatSubnetKey(x.lease!.subnet)}`;
  const subnets = (x: Member): string[] =>
    x.m
      .peers()
      .map((p) => p.subnet.toString())
      .sort();
  const seen = (x: Member): string[] =>
    x.events.map((e) => (e.type === 'peer-removed' ? `removed ${e.subnet}` : `${e.type} ${e.peer.subnet}`));

  return { clock, etcd, advance, config, create, join, keyOf, subnets, seen, members };
}

describe('etcd membership on the in-memory etcd', () => {
  it('acquires distinct subnets, writes flannel lease values on a TTL lease, and tells each about the others', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2');
    expect(a.lease!.subnet.equals(b.lease!.subnet)).toBe(false);
    expect(a.lease).toMatchObject({ backend: { type: 'vxlan', vni: 1, port: 8472 } });
    expect(a.lease!.network.toString()).toBe('10.244.0.0/16');
    expect(a.lease!.expiresAt).toBe(Number(w.clock.wallNs() / 1_000_000n) + TTL * 1000);
    const stored = w.etcd.get(w.keyOf(a))!;
    const attrs = decodeLeaseAttrs(stored.value);
    expect(attrs.ok && formatIpv4(attrs.value.publicIp)).toBe('192.0.2.1');
    expect(attrs.ok && attrs.value.vtepMac?.equals(a.lease!.vtepMac!)).toBe(true);
    expect(w.etcd.leaseTtl(stored.lease!)).toBe(TTL);
    expect(w.seen(a)).toEqual([`peer-added ${b.lease!.subnet}`]);
    expect(w.seen(b)).toEqual([`peer-added ${a.lease!.subnet}`]);
    expect(a.m.status()).toMatchObject({ source: 'etcd', state: 'running', leaseExpiresAt: a.lease!.expiresAt });
  });

  it('renews its lease when two thirds of a test TTL (shorter than the margin) remain: its key outlives many TTLs', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2');
    await w.advance(5 * TTL * 1000, 500);
    expect(w.etcd.get(w.keyOf(a))).toBeDefined();
    expect(a.reg.calls.get('grant')).toBeGreaterThanOrEqual(1 + 7); // acquisition + 150 s / 10 s (a new lease each)
    expect(w.seen(b)).toEqual([`peer-added ${a.lease!.subnet}`]); // never removed
    expect(a.m.status().leaseExpiresAt).toBeGreaterThan(a.lease!.expiresAt!);
  });

  it('watch: learns a newcomer, an update and a removal; a stopped member that revokes is dropped at once', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2', { revokeOnStop: true });
    const c = await w.join('192.0.2.3');
    await w.advance(10);
    expect(w.subnets(a)).toEqual([b.lease!.subnet.toString(), c.lease!.subnet.toString()].sort());
    // c's key rewritten with a new PublicIP (as etcdctl would): an update
    const cKey = w.keyOf(c);
    w.etcd.put(cKey, w.etcd.get(cKey)!.value.replace('192.0.2.3', '192.0.2.33'), w.etcd.leaseOf(cKey));
    await w.advance(10);
    expect(a.m.peers().find((p) => p.subnet.equals(c.lease!.subnet))!.publicIp).toBe(parseIpv4('192.0.2.33'));
    await b.m.stop();
    await w.advance(10);
    expect(w.seen(a)).toEqual([
      `peer-added ${b.lease!.subnet}`,
      `peer-added ${c.lease!.subnet}`,
      `peer-updated ${c.lease!.subnet}`,
      `removed ${b.lease!.subnet}`,
    ]);
  });

  it('a member that stops without revoking is removed when its lease expires, not before', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2');
    await b.m.stop();
    await w.advance(TTL * 1000 - 1000, 500);
    expect(w.subnets(a)).toEqual([b.lease!.subnet.toString()]);
    await w.advance(2000, 500);
    expect(w.subnets(a)).toEqual([]);
    expect(w.seen(a).at(-1)).toBe(`removed ${b.lease!.subnet}`);
  });

  it('outage: keeps its view and its lease, logs the state once, then re-lists and learns what it missed', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2');
    a.reg.setReachable(false);
    await w.advance(10);
    expect(a.m.status().state).toBe('etcd-unavailable');
    expect(a.m.status().lastError).toMatch(/unreachable|connection lost/);
    const c = await w.join('192.0.2.3'); // joins while a is cut off
    await w.advance(8000, 100); // many retries, inside the TTL
    expect(w.subnets(a)).toEqual([b.lease!.subnet.toString()]); // last view kept
    expect(a.logs.filter((l) => l.msg === 'etcd membership: etcd-unavailable')).toHaveLength(1);
    a.reg.setReachable(true);
    await w.advance(3000, 100);
    expect(a.m.status().state).toBe('running');
    expect(w.subnets(a)).toEqual([b.lease!.subnet.toString(), c.lease!.subnet.toString()].sort());
    expect(w.seen(a).filter((e) => e.startsWith('removed'))).toEqual([]);
    expect(w.etcd.get(w.keyOf(a))).toBeDefined();
    expect(w.subnets(b)).toContain(a.lease!.subnet.toString());
  });

  it('after a disconnect it missed a compaction: re-lists and emits exactly the difference', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2', { revokeOnStop: true });
    a.events.length = 0;
    a.reg.setReachable(false);
    await w.advance(10);
    await b.m.stop();
    w.etcd.put(
      `${PREFIX}/subnets/10.244.99.0-24`,
      '{"PublicIP":"192.0.2.83","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:83"}}',
    );
    w.etcd.compact();
    a.reg.setReachable(true);
    await w.advance(3000, 100);
    expect(a.m.status().state).toBe('running');
    expect(w.seen(a)).toEqual([`removed ${b.lease!.subnet}`, 'peer-added 10.244.99.0/24']);
    w.etcd.delete(`${PREFIX}/subnets/10.244.99.0-24`); // and the new watch works
    await w.advance(10);
    expect(w.subnets(a)).toEqual([]);
  });

  it('lease lost: acquires the same subnet again and emits nothing for itself', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    const b = await w.join('192.0.2.2');
    a.events.length = 0;
    const oldLease = w.etcd.leaseOf(w.keyOf(a))!;
    w.etcd.expireLease(oldLease);
    await w.advance(1000);
    const again = w.etcd.get(w.keyOf(a));
    expect(again).toBeDefined();
    expect(again!.lease).not.toBe(oldLease);
    expect(a.events).toEqual([]);
    expect(a.logs.some((l) => l.msg === 'subnet lease acquired again')).toBe(true);
    expect(a.m.status().state).toBe('running');
    expect(w.subnets(b)).toEqual([a.lease!.subnet.toString()]); // b saw it go and come back
  });

  it('lease lost and the subnet taken meanwhile: state subnet-taken, the data path keeps its subnet', async () => {
    const w = world();
    await w.config();
    const a = await w.join('192.0.2.1');
    a.reg.setReachable(false);
    await w.advance(10);
    const key = w.keyOf(a);
    w.etcd.expireLease(w.etcd.leaseOf(key)!);
    w.etcd.put(
      key,
      '{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:09"}}',
    );
    a.reg.setReachable(true);
    await w.advance(3000, 100);
    expect(a.m.status().state).toBe('subnet-taken');
    expect(a.m.status().lastError).toMatch(/no longer free/);
    expect(a.events).toEqual([]);
  });

  it('waits for the network config (waiting-for-config), then starts; udp leases carry no backend data', async () => {
    const w = world();
    const c = w.create('192.0.2.71');
    let lease: LocalLease | undefined;
    void c.m.start((e) => c.events.push(e)).then((l) => (lease = l));
    await w.advance(2000, 100);
    expect(c.m.status().state).toBe('waiting-for-config');
    expect(lease).toBeUndefined();
    await w.config('10.244.0.0/16', 'udp');
    await w.advance(2000, 100);
    expect(lease!.backend).toEqual({ type: 'udp', vni: 0, port: 8285 });
    expect(lease!.vtepMac).toBeUndefined();
    expect(w.etcd.get(`${PREFIX}/subnets/${formatSubnetKey(lease!.subnet)}`)!.value).toBe(
      '{"PublicIP":"192.0.2.71","PublicIPv6":null,"BackendType":"udp"}',
    );
    expect(c.m.status().state).toBe('running');
  });

  it('an invalid config: config-invalid with the parse error, until it is fixed', async () => {
    const w = world();
    w.etcd.put(`${PREFIX}/config`, '{"Network":"10.244.0.0/33"}');
    const c = w.create('192.0.2.72');
    const started = c.m.start(() => {});
    await w.advance(500, 100);
    expect(c.m.status().state).toBe('config-invalid');
    await w.config();
    await w.advance(2000, 100);
    expect((await started).network.toString()).toBe('10.244.0.0/16');
  });

  it('a full network: out-of-subnets, and a node that leaves makes room', async () => {
    const w = world();
    await w.config('10.244.0.0/16', 'vxlan', ['10.244.5.0', '10.244.5.0']); // room for one /24
    const a = await w.join('192.0.2.1', { revokeOnStop: true });
    const c = w.create('192.0.2.3');
    let lease: LocalLease | undefined;
    void c.m.start(() => {}).then((l) => (lease = l));
    await w.advance(1000, 100);
    expect(c.m.status().state).toBe('out-of-subnets');
    await a.m.stop();
    await w.advance(2000, 100);
    expect(lease?.subnet.toString()).toBe(a.lease!.subnet.toString());
  });

  it('stop() before the lease is acquired makes start() reject with StoppedError and closes the store', async () => {
    const w = world();
    const c = w.create('192.0.2.74');
    const started = c.m.start(() => {});
    await w.advance(500, 100);
    await c.m.stop();
    await expect(started).rejects.toBeInstanceOf(StoppedError);
    expect(c.m.status().state).toBe('stopped');
    await expect(c.reg.getConfig()).rejects.toBeInstanceOf(DeviceError);
    expect(w.clock.pendingTimers()).toBe(0);
  });
});

describe('stateForError', () => {
  it('chooses the state by the error class, not its text', () => {
    expect(stateForError(new NetworkConfigMissingError('anything'))).toBe('waiting-for-config');
    expect(stateForError(new ConfigError('no network config (but really invalid)'))).toBe('config-invalid');
    expect(stateForError(new SubnetExhaustedError('x'))).toBe('out-of-subnets');
    expect(stateForError(new SubnetTakenError('x'))).toBe('subnet-taken');
    expect(stateForError(new Error('14 UNAVAILABLE: No connection established'))).toBe('etcd-unavailable');
  });
});

describe('writeNetworkConfig', () => {
  it('is idempotent and refuses to replace a different config unless told to', async () => {
    const reg = new MemoryEtcd(new VirtualClock()).connect(PREFIX);
    const first = await writeNetworkConfig(reg, { network: '10.50.0.0/16', backend: 'vxlan', vni: 4 });
    expect(first).toMatchObject({
      created: true,
      key: `${PREFIX}/config`,
      value: '{"Network":"10.50.0.0/16","Backend":{"Type":"vxlan","VNI":4,"Port":8472}}',
    });
    expect((await writeNetworkConfig(reg, { network: '10.50.0.0/16', backend: 'vxlan', vni: 4 })).created).toBe(false);
    await expect(writeNetworkConfig(reg, { network: '10.60.0.0/16', backend: 'vxlan' })).rejects.toBeInstanceOf(
      ConfigError,
    );
    expect((await writeNetworkConfig(reg, { network: '10.60.0.0/16', backend: 'udp', overwrite: true })).created).toBe(
      true,
    );
    reg.setReachable(false);
    await expect(writeNetworkConfig(reg, { network: '10.60.0.0/16', backend: 'udp' })).rejects.toBeInstanceOf(
      DeviceError,
    );
  });
});
