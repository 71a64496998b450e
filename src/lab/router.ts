// Builds the router of a multi-subnet lab (topology-router.ts): the extra switches in the underlay
// namespace, the router namespace with a leg on each switch, IP forwarding on. Called after the
// underlay switch br0 exists; does nothing without `router:`. The namespace is `flt-<lab>-router`,
// removed by `lab down` with the lab's other namespaces. Throws DeviceError when a command fails.
import { ipBatch } from '../sys/run.js';
import { addNetns, sysctlIn } from './sys.js';
import { routerBatches } from './topology-router.js';
import type { LabTopology } from './topology-types.js';

export async function createRouter(t: LabTopology): Promise<void> {
  if (!t.router) return;
  const lines = routerBatches(t);
  await addNetns(t.router.netns);
  await ipBatch(t.underlayNetns, lines.underlay);
  await ipBatch(t.router.netns, lines.router);
  await sysctlIn(t.router.netns, { 'net.ipv4.ip_forward': 1 });
}
