// `lab check` over IPv6 in a dual-stack lab (issue 19): every pod with an IPv6 address in status.podIPs is
// also a target at that address (labelled `<pod> (IPv6)`, same port), so the matrix gets an IPv6 column set
// in the same result shape; ping and the TCP attempt pick the family from the address. A pod is never
// checked against its own addresses. Pure.
import type { Pod } from '../k8s/types.js';
import type { CheckSource, CheckTarget } from './check.js';

export const IPV6_LABEL = ' (IPv6)';

/** The IPv6 targets of the pods that have an IPv6 podIP. */
export function ipv6Targets(pods: readonly Pod[], portOf: (p: Pod) => number): CheckTarget[] {
  return pods.flatMap((p) => {
    const ip = (p.status?.podIPs ?? []).map((x) => x.ip).find((x) => x.includes(':'));
    return ip ? [{ label: `${p.metadata.name}${IPV6_LABEL}`, ip, port: portOf(p) }] : [];
  });
}

/** True when the target is one of the source pod's own addresses. */
export function isOwnAddress(s: CheckSource, tg: CheckTarget): boolean {
  return tg.ip === s.ip || tg.label === `${s.label}${IPV6_LABEL}`;
}
