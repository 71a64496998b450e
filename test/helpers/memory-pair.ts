// Two in-memory underlays, 10.0.0.1 and 10.0.0.2 on port 8472, on one MemoryNetwork; `got` records
// what b receives (sender address and source port, a copy of the payload).
import { parseIpv4 as ip } from '../../src/addr/ipv4.js';
import { MemoryNetwork } from '../../src/underlay/memory.js';
import type { DatagramBatch } from '../../src/underlay/underlay.js';

export const A = ip('10.0.0.1');
export const B = ip('10.0.0.2');

export function memoryPair() {
  const net = new MemoryNetwork();
  const a = net.attach(A, 8472);
  const b = net.attach(B, 8472);
  const got: Array<{ from: number; port: number; data: Buffer }> = [];
  b.start((batch: DatagramBatch) => {
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offs[i]!;
      got.push({ from: batch.addrs[i]!, port: batch.ports[i]!, data: Buffer.from(batch.bufs[i]!.subarray(off, off + batch.lens[i]!)) });
    }
  });
  return { net, a, b, got };
}

