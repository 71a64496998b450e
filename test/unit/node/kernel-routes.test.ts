// src/node/kernel-routes.ts: kernel route changes run one at a time in the order they were queued,
// even when an earlier command is slower than a later one; a failure is logged and the rest go on;
// changes queued together go in one batch, and a failed batch is retried change by change.
import { describe, expect, it } from 'vitest';
import { Cidr, type Cidr as CidrT } from '../../../src/addr/ipv4.js';
import { KernelRouteQueue } from '../../../src/node/kernel-routes.js';

const a = Cidr.parse('10.244.2.0/24');
const b = Cidr.parse('10.244.3.0/24');

function recorder(opts: { failOn?: string } = {}) {
  const done: string[] = [];
  const errors: Array<{ fields: unknown; msg: string }> = [];
  let running = 0;
  let maxRunning = 0;
  const step = (what: string) => async (subnet: CidrT) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    // a remove of `a` takes longer than anything after it: the order must still hold
    const ticks = what === 'remove' && subnet.equals(a) ? 5 : 1;
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    running--;
    if (opts.failOn === `${what} ${subnet}`) throw new Error('RTNETLINK answers: No such device');
    done.push(`${what} ${subnet}`);
  };
  const log = { error: (fields: unknown, msg: string) => errors.push({ fields, msg }) };
  return { commands: { add: step('add'), remove: step('remove') }, log, done, errors, maxRunning: () => maxRunning };
}

describe('KernelRouteQueue', () => {
  it('applies changes one at a time, in order', async () => {
    const r = recorder();
    const q = new KernelRouteQueue(r.commands, r.log as never);
    q.push({ op: 'add', subnet: a });
    q.push({ op: 'remove', subnet: a });
    q.push({ op: 'add', subnet: a });
    q.push({ op: 'add', subnet: b });
    await q.drained();
    expect(r.done).toEqual(['add 10.244.2.0/24', 'remove 10.244.2.0/24', 'add 10.244.2.0/24', 'add 10.244.3.0/24']);
    expect(r.maxRunning()).toBe(1);
  });

  it('logs a failed change with its subnet and goes on with the next', async () => {
    const r = recorder({ failOn: 'add 10.244.2.0/24' });
    const q = new KernelRouteQueue(r.commands, r.log as never);
    q.push({ op: 'add', subnet: a });
    q.push({ op: 'add', subnet: b });
    await q.drained();
    expect(r.done).toEqual(['add 10.244.3.0/24']);
    expect(r.errors).toEqual([
      {
        fields: { err: 'RTNETLINK answers: No such device', subnet: '10.244.2.0/24' },
        msg: 'could not change kernel route',
      },
    ]);
  });

  it('drained() resolves at once when nothing was queued', async () => {
    const r = recorder();
    await new KernelRouteQueue(r.commands, r.log as never).drained();
    expect(r.done).toEqual([]);
  });

  it('changes queued together go in one batch, in order; a change queued during a batch goes in the next', async () => {
    const r = recorder();
    const batches: string[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((ok) => (release = ok));
    const batch = async (changes: readonly { op: string; subnet: CidrT }[]) => {
      batches.push(changes.map((c) => `${c.op} ${c.subnet}`));
      if (batches.length === 1) await gate;
    };
    const q = new KernelRouteQueue({ ...r.commands, batch }, r.log as never);
    q.push({ op: 'add', subnet: a });
    q.push({ op: 'add', subnet: b });
    q.push({ op: 'remove', subnet: a });
    await Promise.resolve();
    await Promise.resolve();
    q.push({ op: 'add', subnet: a }); // while the first batch runs
    q.push({ op: 'remove', subnet: b });
    release();
    await q.drained();
    expect(batches).toEqual([
      ['add 10.244.2.0/24', 'add 10.244.3.0/24', 'remove 10.244.2.0/24'],
      ['add 10.244.2.0/24', 'remove 10.244.3.0/24'],
    ]);
    expect(r.done).toEqual([]); // nothing one by one
  });

  it('a failed batch is retried one change at a time, each failure logged with its subnet', async () => {
    const r = recorder({ failOn: 'add 10.244.2.0/24' });
    const batch = () => Promise.reject(new Error('ip -batch failed at line 1'));
    const q = new KernelRouteQueue({ ...r.commands, batch }, r.log as never);
    q.push({ op: 'add', subnet: a });
    q.push({ op: 'add', subnet: b });
    await q.drained();
    expect(r.done).toEqual(['add 10.244.3.0/24']);
    expect(r.errors.map((e) => e.fields)).toEqual([
      { err: 'RTNETLINK answers: No such device', subnet: '10.244.2.0/24' },
    ]);
  });
});
