// A lab topology's top-level keys and reserved node names, and its `backend:` block, resolved: flannel's defaults per backend (VNI, port) and the
// fields that only some backends take (vni: vxlan; port: not host-gw; directRouting: vxlan). Pure.
import { anyBackendFacts, type AnyBackendName } from '../backend/table.js';
import type { LabBackend } from './topology-types.js';

/** The backend with its defaults filled in. */
export function labBackend(
  type: AnyBackendName,
  vni: number | undefined,
  port: number | undefined,
  directRouting: boolean | undefined,
): LabBackend {
  const facts = anyBackendFacts(type);
  const defaultPort = facts.encapsulation === 'udp' ? facts.defaultPort : 0;
  const out: LabBackend = {
    type,
    vni: facts.defaultVni === null ? 0 : (vni ?? facts.defaultVni),
    port: port ?? defaultPort,
  };
  if (directRouting !== undefined) out.directRouting = directRouting;
  return out;
}

/** A field given for a backend that does not take it, with the message for the topology error. */
export function backendFieldProblem(
  type: AnyBackendName,
  rec: Record<string, unknown>,
): { field: string; message: string } | undefined {
  if (anyBackendFacts(type).defaultVni === null && rec['vni'] !== undefined)
    return { field: 'vni', message: 'only applies to the vxlan backend' };
  if (type === 'host-gw' && rec['port'] !== undefined)
    return { field: 'port', message: 'host-gw has no port (the kernel routes pod packets as they are)' };
  if (rec['directRouting'] !== undefined) {
    if (type !== 'vxlan') return { field: 'directRouting', message: 'only applies to the vxlan backend' };
    if (typeof rec['directRouting'] !== 'boolean') return { field: 'directRouting', message: 'must be true or false' };
  }
  return undefined;
}

/** The topology's top-level keys (besides the control plane timeouts). */
export const TOP_KEYS = [
  'name',
  'network',
  'subnetLen',
  'backend',
  'underlay',
  'mtu',
  'nodes',
  'pods',
  'links',
  'ipMasq',
  'router',
  'ipv6Network',
  'ipv6SubnetLen',
  'ipv6Underlay',
];

/** Node names taken by the lab's own namespaces, and what each is. */
export const RESERVED_NAMES: Readonly<Record<string, string>> = {
  underlay: 'switch',
  internet: 'internet',
  client: 'client',
  router: 'router',
};

export function isOptionalBoolean(v: unknown): boolean {
  return v === undefined || typeof v === 'boolean';
}
