// The lab's `internet` namespace: a host outside the cluster network, reached through the underlay
// switch, with an HTTP server (the built-in `http` program on port 80, whose answer names the
// client address it saw). With flanneld's --ip-masq a pod reaches it as its node's public IP;
// without, its own pod IP arrives and the reply has no way back. It sits at the underlay's highest
// host address minus 2 (the `client` namespace takes minus 1), e.g. 192.168.1.252 on 192.168.1.0/24.
// On an IPv6 underlay (topology `ipv6Underlay`) it also has the same host number in that subnet
// (e.g. fd00:192:168:1::fc), so with --ip-masq a pod reaches it over IPv6 as its node's PublicIPv6.
// `flannelette lab exec internet -- CMD` runs in it. Namespace `flt-<lab>-internet`, removed with the
// lab's other namespaces; the server carries the lab's FLT_LAB mark. Throws DeviceError when a
// command fails.
import path from 'node:path';
import { Cidr, formatIpv4 } from '../addr/ipv4.js';
import { Cidr6 } from '../addr/ipv6.js';
import { ipBatch } from '../sys/run.js';
import { LAB_ENV, READY_FILE_ENV } from './env.js';
import { labPrefix, UNDERLAY_BRIDGE } from './names.js';
import { spawnInNetns } from './procs.js';
import { addNetns } from './sys.js';
import { labHasIpv6, publicIpv6For } from './topology-ipv6.js';
import type { LabTopology } from './topology-types.js';

export const INTERNET = 'internet';

export function internetNetns(lab: string): string {
  return `${labPrefix(lab)}${INTERNET}`;
}

/** The internet host's address: the underlay's highest host address minus 2. */
export function internetAddress(t: Pick<LabTopology, 'underlay'>): string {
  const underlay = Cidr.parse(t.underlay);
  return formatIpv4((underlay.broadcast - 3) >>> 0);
}

/** Its IPv6 address on an IPv6 underlay (the same host number); undefined without one. */
export function internetAddress6(t: Pick<LabTopology, 'underlay' | 'ipv6Underlay'>): string | undefined {
  if (!t.ipv6Underlay) return undefined;
  return publicIpv6For(Cidr6.parse(t.ipv6Underlay), Cidr.parse(t.underlay), internetAddress(t));
}

/**
 * Creates the namespace, joins it to the underlay switch and starts the HTTP server; returns the
 * server's pid. `programs` is the command prefix of the built-in programs (lab/agent.ts).
 */
export async function createInternet(t: LabTopology, programs: string[], logDir: string): Promise<number> {
  const ns = internetNetns(t.name);
  const prefix = Cidr.parse(t.underlay).prefix;
  await addNetns(ns, labHasIpv6(t));
  await ipBatch(t.underlayNetns, [
    `link add to-${INTERNET} mtu ${t.mtu} type veth peer name eth0 mtu ${t.mtu} netns ${ns}`,
    `link set to-${INTERNET} master ${UNDERLAY_BRIDGE}`,
    `link set to-${INTERNET} up`,
  ]);
  const addr6 = internetAddress6(t);
  const v6 = addr6 ? [`addr add ${addr6}/${t.ipv6Underlay!.split('/')[1]} dev eth0 nodad`] : [];
  await ipBatch(ns, ['link set lo up', `addr add ${internetAddress(t)}/${prefix} dev eth0`, ...v6, 'link set eth0 up']);
  const env = {
    [LAB_ENV]: t.name,
    POD_NAME: INTERNET,
    POD_IP: internetAddress(t),
    HOSTNAME: INTERNET,
    [READY_FILE_ENV]: path.join(logDir, `${INTERNET}.ready`),
  };
  return spawnInNetns(ns, [...programs, 'http', '--port', '80'], path.join(logDir, `${INTERNET}.log`), env);
}
