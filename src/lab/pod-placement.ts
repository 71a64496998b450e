// Where a topology pod without a `node:` goes: the node with the fewest pods so far (the first such
// node on a tie), as a simple stand-in for the scheduler in static labs. Pure; never throws on a
// non-empty node list.
import type { LabNode } from './topology-types.js';

/** The name of the node with the fewest pods in `load` (the first one on a tie). */
export function leastLoaded(nodes: readonly LabNode[], load: ReadonlyMap<string, number>): string {
  let best = nodes[0].name;
  for (const n of nodes) if (load.get(n.name)! < load.get(best)!) best = n.name;
  return best;
}
