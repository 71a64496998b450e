// flannel's lease lifetime and renewal (src/control/lease-keeper.ts) and the end of an agent whose
// lease is lost or taken over (etcd.ts onLeaseLost), on the in-memory etcd and a virtual clock:
// the 24 h lifetime renewed 60 min (the margin) before it runs out, with a new etcd lease each
// time; a renewal that fails is tried again within a minute; a deleted key or another node's
// PublicIP in our key calls onLeaseLost once with flannel's log line, and renewing stops.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { createEtcdMembership, DEFAULT_LEASE_TTL_SECONDS } from '../../../src/control/etcd.js';
import { formatSubnetKey } from '../../../src/control/flannel-format.js';
import { formatDuration, renewDelayMs } from '../../../src/control/lease-keeper.js';
import type { LocalLease, Membership } from '../../../src/control/membership.js';
import { MemoryEtcd, type MemoryRegistry } from '../../../src/control/memory-registry.js';
import { writeNetworkConfig } from '../../../src/control/network-init.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';

const PREFIX = '/coreos.com/network';
const HOUR = 3_600_000;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function world(opts: { ttl?: number; margin?: number } = {}) {
  const clock = new VirtualClock();
  const etcd = new MemoryEtcd(clock);
  await writeNetworkConfig(etcd.connect(PREFIX), { network: '10.244.0.0/16', backend: 'vxlan', overwrite: true });
  const logs: Array<{ level: number; msg: string; reason?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l) as never) });
  const lost: string[] = [];
  const reg: MemoryRegistry = etcd.connect(PREFIX);
  const m: Membership = createEtcdMembership({
    registry: reg,
    publicIp: parseIpv4('192.0.2.1'),
    logger,
    clock,
    rng: seededRng(7),
    leaseTtlSeconds: opts.ttl,
    renewMarginMinutes: opts.margin,
    retry: { initialMs: 100, maxMs: 1000 },
    onLeaseLost: (reason) => lost.push(reason),
  });
  const started = m.start(() => undefined);
  await settle();
  const lease: LocalLease = await started;
  await settle();
  const key = `${PREFIX}/subnets/${formatSubnetKey(lease.subnet)}`;
  /** Virtual time forward in steps, letting the membership react at each. */
  const advance = async (ms: number, step: number): Promise<void> => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await settle();
    }
  };
  const wallMs = (): number => Number(clock.wallNs() / 1_000_000n);
  return { clock, etcd, reg, m, lease, key, logs, lost, advance, wallMs };
}

describe("flannel's lease lifetime and renew margin", () => {
  it('renewDelayMs: expiry minus the margin; two thirds of the lifetime before expiry when the margin is not shorter', () => {
    expect(renewDelayMs(24 * HOUR, 0, 86400, 60)).toBe(23 * HOUR);
    expect(renewDelayMs(24 * HOUR, 0, 86400, 1439)).toBe(60_000);
    expect(renewDelayMs(30_000, 0, 30, 60)).toBe(10_000);
    expect(renewDelayMs(30_000, 40_000, 30, 60)).toBe(0);
    expect(formatDuration(23 * HOUR)).toBe('23h0m0s');
    expect(formatDuration(20_000)).toBe('20s');
  });

  it('a 24 h lease is written again on a new etcd lease 60 min before it runs out, not before', async () => {
    const w = await world();
    expect(w.lease.expiresAt).toBe(w.wallMs() + DEFAULT_LEASE_TTL_SECONDS * 1000);
    const first = w.etcd.leaseOf(w.key)!;
    expect(w.etcd.leaseTtl(first)).toBe(86400);
    expect(w.logs.some((l) => l.msg === 'Waiting for 23h0m0s to renew lease')).toBe(true);
    await w.advance(23 * HOUR - 60_000, 60_000);
    expect(w.etcd.leaseOf(w.key)).toBe(first); // 22 h 59 min: not yet
    await w.advance(2 * 60_000, 1000);
    const second = w.etcd.leaseOf(w.key)!;
    expect(second).not.toBe(first);
    expect(w.etcd.leaseTtl(second)).toBe(86400);
    expect(w.etcd.leaseTtl(first)).toBeUndefined(); // the old lease is revoked
    expect(w.logs.some((l) => l.msg.startsWith('Lease renewed, new expiration: '))).toBe(true);
    expect(w.m.status().leaseExpiresAt).toBe(w.lease.expiresAt! + 23 * HOUR);
    await w.advance(3 * 24 * HOUR, 10 * 60_000); // three more days: renewed every 23 h, never lost
    expect(w.etcd.get(w.key)).toBeDefined();
    expect(w.lost).toEqual([]);
    await w.m.stop();
  });

  it('--subnet-lease-renew-margin 1439: renewed a minute after acquisition', async () => {
    const w = await world({ margin: 1439 });
    const first = w.etcd.leaseOf(w.key)!;
    await w.advance(59_000, 1000);
    expect(w.etcd.leaseOf(w.key)).toBe(first);
    await w.advance(2000, 1000);
    expect(w.etcd.leaseOf(w.key)).not.toBe(first);
    await w.m.stop();
  });

  it('a renewal while etcd is unreachable is retried within a minute, and the key survives', async () => {
    const w = await world({ ttl: 86400, margin: 60 });
    const first = w.etcd.leaseOf(w.key)!;
    await w.advance(23 * HOUR - 1000, 60_000);
    w.reg.setReachable(false);
    await w.advance(5 * 60_000, 1000);
    expect(w.logs.some((l) => l.msg.startsWith('Error renewing lease (trying again in 1 min)'))).toBe(true);
    expect(w.m.status().state).toBe('etcd-unavailable');
    w.reg.setReachable(true);
    await w.advance(61_000, 1000);
    expect(w.etcd.leaseOf(w.key)).not.toBe(first);
    expect(w.lost).toEqual([]);
    await w.m.stop();
  });
});

describe('a lost or taken-over lease ends the agent (onLeaseLost)', () => {
  it('our key deleted (etcdctl del): "Lease has been revoked. Shutting down daemon.", once, and no renewal after', async () => {
    const w = await world({ ttl: 30 });
    w.etcd.delete(w.key);
    await w.advance(100, 10);
    expect(w.lost).toEqual(['our subnet key was deleted or its lease expired']);
    const line = w.logs.find((l) => l.msg === 'Lease has been revoked. Shutting down daemon.');
    expect(line?.level).toBe(50); // error, as flannel logs it
    expect(w.m.status().state).toBe('lease-lost');
    const grants = w.reg.calls.get('grant');
    await w.advance(120_000, 1000);
    expect(w.reg.calls.get('grant')).toBe(grants); // neither renewed nor re-acquired
    expect(w.etcd.get(w.key)).toBeUndefined();
    expect(w.lost).toHaveLength(1);
    await w.m.stop();
  });

  it('our lease expired (its TTL ran out): the same end', async () => {
    const w = await world({ ttl: 30 });
    w.etcd.expireLease(w.etcd.leaseOf(w.key)!);
    await w.advance(100, 10);
    expect(w.lost).toEqual(['our subnet key was deleted or its lease expired']);
    await w.m.stop();
  });

  it("another node's PublicIP written into our key: taken over, the same end", async () => {
    const w = await world({ ttl: 30 });
    w.etcd.put(
      w.key,
      '{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:09"}}',
    );
    await w.advance(100, 10);
    expect(w.lost).toEqual(['another node (192.0.2.9) wrote our subnet key']);
    expect(w.m.status().state).toBe('lease-lost');
    await w.advance(60_000, 1000);
    expect(w.etcd.get(w.key)!.value).toContain('192.0.2.9'); // not overwritten by a renewal
    await w.m.stop();
  });

  it('a takeover while the watch was down is found when it re-lists', async () => {
    const w = await world({ ttl: 30 });
    w.reg.setReachable(false);
    await w.advance(50, 10);
    w.etcd.put(
      w.key,
      '{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:09"}}',
    );
    w.reg.setReachable(true);
    await w.advance(5000, 100);
    expect(w.lost).toEqual(['another node (192.0.2.9) wrote our subnet key']);
    await w.m.stop();
  });
});
