// src/control/memory-registry.ts, the in-memory etcd the membership unit tests run on: it must
// behave like etcd where the membership depends on it (revisions, TTL leases that take their keys,
// create-if-absent, watch replay from a revision, compaction, one connection cut off alone).
import { describe, expect, it } from 'vitest';
import { MemoryEtcd } from '../../../src/control/memory-registry.js';
import type { SubnetKv } from '../../../src/control/subnet-registry.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { DeviceError } from '../../../src/util/errors.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function watchLog() {
  const seen: string[] = [];
  return {
    seen,
    handlers: {
      onPut: (kv: SubnetKv) => seen.push(`put ${kv.key}=${kv.value} @${kv.modRevision}`),
      onDelete: (kv: SubnetKv) => seen.push(`delete ${kv.key} @${kv.modRevision}`),
      onBroken: (err: Error, kind: string) => seen.push(`broken ${kind}`),
    },
  };
}

describe('MemoryEtcd and MemoryRegistry', () => {
  it('keys on a lease live as long as the lease: keepAlive extends it, expiry deletes them', async () => {
    const clock = new VirtualClock();
    const etcd = new MemoryEtcd(clock);
    const reg = etcd.connect('/p');
    const lease = await reg.grant(10);
    expect(await reg.createIfAbsent(reg.subnetKey('10.0.1.0-24'), 'a', lease)).toBe(true);
    expect(await reg.createIfAbsent(reg.subnetKey('10.0.1.0-24'), 'b', lease)).toBe(false);
    clock.advance(9000);
    expect(await reg.keepAlive(lease)).toBe(10);
    clock.advance(9000);
    expect(etcd.get('/p/subnets/10.0.1.0-24')?.value).toBe('a');
    clock.advance(1001);
    expect(etcd.get('/p/subnets/10.0.1.0-24')).toBeUndefined();
    expect(await reg.keepAlive(lease)).toBe(0);
    await expect(reg.put(reg.subnetKey('10.0.2.0-24'), 'c', lease)).rejects.toBeInstanceOf(DeviceError);
  });

  it('lists with the revision, and a watch from revision+1 sees exactly what came after, in order', async () => {
    const etcd = new MemoryEtcd(new VirtualClock());
    const reg = etcd.connect('/p');
    etcd.put('/p/subnets/a', '1');
    etcd.put('/p/config', 'not a subnet');
    const { kvs, revision } = await reg.listSubnets();
    expect(kvs.map((k) => k.key)).toEqual(['/p/subnets/a']);
    etcd.put('/p/subnets/b', '2');
    etcd.delete('/p/subnets/a');
    etcd.put('/other/subnets/c', '3');
    const w = watchLog();
    reg.watchSubnets(revision + 1, w.handlers);
    etcd.put('/p/subnets/b', '22');
    await settle();
    expect(w.seen).toEqual([
      `put /p/subnets/b=2 @${revision + 1}`,
      `delete /p/subnets/a @${revision + 2}`,
      `put /p/subnets/b=22 @${revision + 4}`,
    ]);
  });

  it('a watch from a compacted revision is cancelled by the server', async () => {
    const etcd = new MemoryEtcd(new VirtualClock());
    const reg = etcd.connect('/p');
    etcd.put('/p/subnets/a', '1');
    const from = etcd.revision;
    etcd.put('/p/subnets/a', '2');
    etcd.compact();
    const w = watchLog();
    reg.watchSubnets(from, w.handlers);
    await settle();
    expect(w.seen).toEqual(['broken cancelled']);
  });

  it('a cut connection fails its calls and breaks its watches; the others go on', async () => {
    const etcd = new MemoryEtcd(new VirtualClock());
    const a = etcd.connect('/p');
    const b = etcd.connect('/p');
    const wa = watchLog();
    const wb = watchLog();
    a.watchSubnets(etcd.revision + 1, wa.handlers);
    b.watchSubnets(etcd.revision + 1, wb.handlers);
    a.setReachable(false);
    etcd.put('/p/subnets/x', '1');
    await settle();
    expect(wa.seen).toEqual(['broken disconnected']);
    expect(wb.seen).toHaveLength(1);
    await expect(a.listSubnets()).rejects.toBeInstanceOf(DeviceError);
    expect((await b.listSubnets()).kvs).toHaveLength(1);
    a.setReachable(true);
    expect((await a.listSubnets()).kvs).toHaveLength(1);
    a.close();
    await expect(a.getConfig()).rejects.toBeInstanceOf(DeviceError);
  });
});
