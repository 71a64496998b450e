// Validation of (defaulted) core/v1 Services with kube-apiserver's field paths and messages
// (pkg/apis/core/validation ValidateService): DNS-1035 names, ports (range, names, duplicates as Go
// prints the duplicate ServicePort, nodePorts forbidden for ClusterIP, duplicate nodePorts), the
// selector's label syntax, type, sessionAffinity and its timeout, traffic policies, clusterIP syntax,
// and on update the immutable clusterIP. Range and collision checks of clusterIPs and nodePorts are
// the allocator's (controlplane/service-alloc.ts). Pure; never throws.
import { isIpv4 } from '../addr/ipv4.js';
import { isIpv6 } from '../addr/ipv6.js';
import { MAX_AFFINITY_TIMEOUT } from './service-defaults.js';
import type { Service, ServicePort } from './service-types.js';
import type { StatusCause } from './types.js';

type Causes = StatusCause[];

const DNS1035_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PREFIX_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const q = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const invalid = (out: Causes, field: string, value: unknown, detail: string): void => {
  out.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${q(value)}: ${detail}`, field });
};
const required = (out: Causes, field: string): void => {
  out.push({ reason: 'FieldValueRequired', message: 'Required value', field });
};
const unsupported = (out: Causes, field: string, value: unknown, supported: string[]): void => {
  out.push({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${q(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    field,
  });
};
const forbidden = (out: Causes, field: string, detail: string): void => {
  out.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
};
const duplicate = (out: Causes, field: string, goValue: string): void => {
  out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goValue}`, field });
};

/** kube's message for a DNS-1035 label, or undefined when `name` is one. */
export function dns1035LabelError(name: string): string | undefined {
  if (name.length > 63) return 'must be no more than 63 characters';
  if (DNS1035_RE.test(name)) return undefined;
  return (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic " +
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for " +
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
  );
}

/** kube's IANA_SVC_NAME check of a named targetPort (or a port name), or undefined. */
export function ianaSvcNameError(name: string): string | undefined {
  if (name.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(name)) return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (name.includes('--')) return 'must not contain consecutive hyphens';
  if (!/[a-z]/.test(name)) return 'must contain at least one letter (a-z)';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

/** A ServicePort as Go's %#v prints core.ServicePort{Protocol, Port} (kube's duplicate-port message). */
function goServicePortKey(p: ServicePort): string {
  return (
    `core.ServicePort{Name:"", Protocol:"${p.protocol ?? ''}", AppProtocol:(*string)(nil), Port:${p.port}, ` +
    'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
  );
}

function validateSelector(sel: unknown, out: Causes): void {
  if (sel === undefined || sel === null) return;
  for (const [k, v] of Object.entries(sel as Record<string, unknown>)) {
    const slash = k.lastIndexOf('/');
    const prefix = slash >= 0 ? k.slice(0, slash) : '';
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    if (!LABEL_NAME_RE.test(name) || name.length > 63 || (slash >= 0 && !PREFIX_RE.test(prefix))) {
      invalid(
        out,
        'spec.selector',
        k,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
          "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
          "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      );
    }
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v) || v.length > 63) {
      invalid(
        out,
        'spec.selector',
        v,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must " +
          "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used " +
          "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      );
    }
  }
}

function validatePorts(svc: Service, out: Causes): void {
  const s = svc.spec;
  const ports = s.ports ?? [];
  if (ports.length === 0 && s.type !== 'ExternalName' && s.clusterIP !== 'None') required(out, 'spec.ports');
  const names = new Set<string>();
  const keys = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (!p || typeof p !== 'object') return required(out, path);
    if (ports.length > 1 && !p.name) required(out, `${path}.name`);
    else if (p.name) {
      const err = dns1035LabelError(p.name);
      if (err) invalid(out, `${path}.name`, p.name, err);
      if (names.has(p.name)) duplicate(out, `${path}.name`, JSON.stringify(p.name));
      names.add(p.name);
    }
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      invalid(out, `${path}.port`, p.port ?? 0, 'must be between 1 and 65535, inclusive');
    }
    if (p.protocol && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) {
      unsupported(out, `${path}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']);
    }
    const tp = p.targetPort;
    if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535)) {
      invalid(out, `${path}.targetPort`, tp, 'must be between 1 and 65535, inclusive');
    } else if (typeof tp === 'string') {
      const err = ianaSvcNameError(tp);
      if (err) invalid(out, `${path}.targetPort`, tp, err);
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (s.type === 'ClusterIP' || s.type === 'ExternalName') {
        forbidden(out, `${path}.nodePort`, `may not be used when \`type\` is '${s.type}'`);
      } else {
        const nk = `${p.protocol}/${p.nodePort}`;
        if (nodePorts.has(nk)) duplicate(out, `${path}.nodePort`, String(p.nodePort));
        nodePorts.add(nk);
      }
    }
    const key = `${p.protocol}/${p.port}`;
    if (keys.has(key)) duplicate(out, path, goServicePortKey(p));
    keys.add(key);
  });
}

/** The causes of an invalid Service (empty when valid). */
export function validateService(svc: Service, out: Causes): void {
  const name = svc.metadata?.name;
  if (name) {
    const err = dns1035LabelError(name);
    if (err) invalid(out, 'metadata.name', name, err);
  }
  const s = svc.spec;
  if (!s || typeof s !== 'object') return required(out, 'spec');
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!types.includes(String(s.type))) return unsupported(out, 'spec.type', s.type, types);
  if (!['ClientIP', 'None'].includes(String(s.sessionAffinity))) {
    unsupported(out, 'spec.sessionAffinity', s.sessionAffinity, ['ClientIP', 'None']);
  }
  const timeout = s.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (s.sessionAffinity === 'ClientIP' && (timeout === undefined || timeout <= 0 || timeout > MAX_AFFINITY_TIMEOUT)) {
    invalid(
      out,
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      timeout ?? 0,
      `must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`,
    );
  }
  validateSelector(s.selector, out);
  validatePorts(svc, out);
  const external = s.type === 'NodePort' || s.type === 'LoadBalancer';
  if (s.externalTrafficPolicy !== undefined) {
    if (!external) {
      invalid(
        out,
        'spec.externalTrafficPolicy',
        s.externalTrafficPolicy,
        'may only be set for externally-accessible services',
      );
    } else if (!['Cluster', 'Local'].includes(s.externalTrafficPolicy)) {
      unsupported(out, 'spec.externalTrafficPolicy', s.externalTrafficPolicy, ['Cluster', 'Local']);
    }
  }
  if (s.internalTrafficPolicy !== undefined && !['Cluster', 'Local'].includes(s.internalTrafficPolicy)) {
    unsupported(out, 'spec.internalTrafficPolicy', s.internalTrafficPolicy, ['Cluster', 'Local']);
  }
  (s.clusterIPs ?? []).forEach((ip, i) => {
    if (ip === 'None') {
      if (i > 0 || external) {
        invalid(out, `spec.clusterIPs[${i}]`, ip, "may not be set to 'None' for LoadBalancer services or NodePorts");
      }
    } else if (!isIpv4(ip) && !isIpv6(ip)) {
      invalid(out, `spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
    }
  });
  if (s.clusterIP !== undefined && s.clusterIP !== '' && s.clusterIPs?.[0] !== s.clusterIP) {
    invalid(out, 'spec.clusterIPs[0]', s.clusterIPs?.[0] ?? '', 'must match `clusterIP`');
  }
}

/** The extra causes of an update: clusterIP may not change once set. */
export function validateServiceUpdate(old: Service, next: Service, out: Causes): void {
  const was = old.spec?.clusterIPs ?? [];
  const now = next.spec?.clusterIPs ?? [];
  if (was.length && now.length && was[0] !== now[0]) {
    const value = `[]string{${now.map((x) => JSON.stringify(x)).join(', ')}}`;
    out.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${value}: may not change once set`,
      field: 'spec.clusterIPs[0]',
    });
  }
}
