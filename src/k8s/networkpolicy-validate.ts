// Defaulting and validation of networking.k8s.io/v1 NetworkPolicy with kube-apiserver's field paths and
// messages (SetDefaults_NetworkPolicy; pkg/apis/networking/validation): policyTypes default to Ingress,
// plus Egress when egress rules exist; ports default to TCP. Invalid: a bad CIDR, an `except` outside its
// `cidr`, endPort below port or without a numeric port, an unknown policyType or protocol, a bad selector.
// SCTP is refused with a message saying this lab does not enforce it. Pure; never throws.
import { Cidr, parseIpv4 } from '../addr/ipv4.js';
import { requirementsOf, SelectorError } from './selectors.js';
import type { LabelSelector, StatusCause } from './types.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from './networkpolicy-types.js';

export function defaultNetworkPolicy(np: NetworkPolicy): NetworkPolicy {
  if (!np.spec || typeof np.spec !== 'object') return np;
  np.spec.podSelector ??= {};
  const rules = [...(np.spec.ingress ?? []), ...(np.spec.egress ?? [])];
  for (const r of rules) for (const p of r?.ports ?? []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  if (!np.spec.policyTypes || np.spec.policyTypes.length === 0) {
    np.spec.policyTypes = ['Ingress'];
    if ((np.spec.egress ?? []).length > 0) np.spec.policyTypes.push('Egress');
  }
  return np;
}

const CIDR_HINT = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

/** A CIDR as kube accepts it (IPv4 here), or undefined. */
export function parsePolicyCidr(text: string): Cidr | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text)) return undefined;
  try {
    return Cidr.parse(text);
  } catch {
    return undefined;
  }
}

function invalid(out: StatusCause[], field: string, value: unknown, detail: string): void {
  const v = typeof value === 'string' ? JSON.stringify(value) : String(value);
  out.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${v}: ${detail}`, field });
}

function selector(out: StatusCause[], field: string, sel: LabelSelector | undefined): void {
  if (!sel) return;
  try {
    requirementsOf(sel);
  } catch (e) {
    if (e instanceof SelectorError) invalid(out, field, 'selector', e.message);
  }
}

function validatePeer(out: StatusCause[], path: string, peer: NetworkPolicyPeer): void {
  const n = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => peer?.[k as keyof NetworkPolicyPeer]);
  if (n.length === 0) {
    out.push({ reason: 'FieldValueRequired', message: 'Required value: must specify a peer', field: path });
    return;
  }
  if (peer.ipBlock && n.length > 1) {
    out.push({
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not specify more than 1 peer type',
      field: path,
    });
  }
  selector(out, `${path}.podSelector`, peer.podSelector);
  selector(out, `${path}.namespaceSelector`, peer.namespaceSelector);
  if (!peer.ipBlock) return;
  const b = peer.ipBlock;
  if (!b.cidr) {
    out.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${path}.ipBlock.cidr` });
    return;
  }
  const cidr = parsePolicyCidr(b.cidr);
  if (!cidr) return invalid(out, `${path}.ipBlock.cidr`, b.cidr, CIDR_HINT);
  (b.except ?? []).forEach((e, i) => {
    const f = `${path}.ipBlock.except[${i}]`;
    const ex = parsePolicyCidr(e);
    if (!ex) return invalid(out, f, e, CIDR_HINT);
    if (ex.prefix <= cidr.prefix || !cidr.contains(ex.network)) invalid(out, f, e, 'must be a strict subset of `cidr`');
  });
}

function validatePort(out: StatusCause[], path: string, p: NetworkPolicyPort): void {
  if (p.protocol === 'SCTP') {
    out.push({
      reason: 'FieldValueNotSupported',
      message: 'Unsupported value: "SCTP": supported values: "TCP", "UDP" (this lab does not enforce SCTP policies)',
      field: `${path}.protocol`,
    });
  } else if (p.protocol && p.protocol !== 'TCP' && p.protocol !== 'UDP') {
    out.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(p.protocol)}: supported values: "SCTP", "TCP", "UDP"`,
      field: `${path}.protocol`,
    });
  }
  if (typeof p.port === 'number') {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      invalid(out, `${path}.port`, p.port, 'must be between 1 and 65535, inclusive');
  } else if (typeof p.port === 'string') {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(p.port) || p.port.length > 15 || !/[a-z]/.test(p.port))
      invalid(out, `${path}.port`, p.port, 'must be a valid port name (at most 15 characters, a-z, 0-9 and -)');
  }
  if (p.endPort === undefined) return;
  if (p.port === undefined) {
    out.push({
      reason: 'FieldValueRequired',
      message: 'Required value: must be specified when `endPort` is specified',
      field: `${path}.port`,
    });
  } else if (typeof p.port === 'string') {
    invalid(out, `${path}.endPort`, p.endPort, 'may not be specified when `port` is non-numeric');
  } else if (p.endPort < p.port) {
    invalid(out, `${path}.endPort`, p.endPort, 'must be greater than or equal to `port`');
  } else if (p.endPort > 65535) {
    invalid(out, `${path}.endPort`, p.endPort, 'must be between 1 and 65535, inclusive');
  }
}

/** The causes of a (defaulted) NetworkPolicy's spec; metadata is validated by validate.ts. */
export function validateNetworkPolicySpec(np: NetworkPolicy): StatusCause[] {
  const out: StatusCause[] = [];
  const s = np.spec;
  if (!s || typeof s !== 'object') {
    out.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec' });
    return out;
  }
  selector(out, 'spec.podSelector', s.podSelector);
  (s.ingress ?? []).forEach((r, i) => {
    (r?.ports ?? []).forEach((p, j) => validatePort(out, `spec.ingress[${i}].ports[${j}]`, p));
    (r?.from ?? []).forEach((p, j) => validatePeer(out, `spec.ingress[${i}].from[${j}]`, p));
  });
  (s.egress ?? []).forEach((r, i) => {
    (r?.ports ?? []).forEach((p, j) => validatePort(out, `spec.egress[${i}].ports[${j}]`, p));
    (r?.to ?? []).forEach((p, j) => validatePeer(out, `spec.egress[${i}].to[${j}]`, p));
  });
  const types = s.policyTypes ?? [];
  types.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') {
      out.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(t)}: supported values: "Ingress", "Egress"`,
        field: `spec.policyTypes[${i}]`,
      });
    }
  });
  if (types.length > 2) invalid(out, 'spec.policyTypes', types.join(','), 'may not specify more than two policyTypes');
  return out;
}

/** True when `ip` (dotted quad) is inside `cidr`. */
export function cidrHas(cidr: Cidr, ip: string): boolean {
  try {
    return cidr.contains(parseIpv4(ip));
  } catch {
    return false;
  }
}
