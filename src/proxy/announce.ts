// Which node answers ARP for a LoadBalancer address (MetalLB's layer-2 mode): among the candidate
// nodes — Ready nodes, or for externalTrafficPolicy Local the nodes with a ready local endpoint — the
// one with the smallest sha256(node + "#" + address), so every node computes the same choice and a
// choice moves only when its node stops being a candidate. Pure.
import { createHash } from 'node:crypto';

export function announcingNode(address: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestHash = '';
  for (const n of candidates) {
    const h = createHash('sha256').update(`${n}#${address}`).digest('hex');
    if (best === undefined || h < bestHash) {
      best = n;
      bestHash = h;
    }
  }
  return best;
}
