// Server-side Table printing of Services, Endpoints and EndpointSlices with kube's columns and cells
// (pkg/printers/internalversion/printers.go: printService, printEndpoints, printEndpointSlice):
// PORT(S) as `80:30008/TCP`, EXTERNAL-IP `<pending>` for a LoadBalancer without an address, endpoints
// as `ip:port` lists cut after three with ` + N more...`. Pure; `now` is injected.
import { since } from './age.js';
import type { EndpointSlice, Endpoints, Service } from './service-types.js';
import type { KubeObject, TableColumnDefinition } from './types.js';

const col = (name: string, type: TableColumnDefinition['type'], priority = 0, format = ''): TableColumnDefinition => ({
  name,
  type,
  format,
  description: name,
  priority,
});
const NAME = col('Name', 'string', 0, 'name');
const AGE = col('Age', 'string');

export interface KindPrinter {
  columns: TableColumnDefinition[];
  cells: (o: KubeObject, now: number) => unknown[];
}

export function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

export function serviceExternalIp(svc: Service): string {
  const s = svc.spec ?? {};
  const external = s.externalIPs ?? [];
  switch (s.type) {
    case 'LoadBalancer': {
      const lb = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean);
      const all = [...lb, ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return s.externalName ?? '<none>';
    default:
      return external.length ? external.join(',') : '<none>';
  }
}

export function formatSelectorMap(sel: Record<string, string> | undefined): string {
  const keys = Object.keys(sel ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${sel![k]}`).join(',') : '<none>';
}

/** kubectl's ENDPOINTS cell: the ready addresses × ports, at most three, then ` + N more...`. */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  let count = 0;
  let more = false;
  const add = (text: string): void => {
    if (list.length === 3) more = true;
    else list.push(text);
  };
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    if (!ss.ports?.length) {
      count += addrs.length;
      for (const a of addrs) add(a.ip);
      continue;
    }
    for (const p of ss.ports) {
      count += addrs.length;
      for (const a of addrs) add(`${a.ip}:${p.port}`);
    }
  }
  return more ? `${list.join(',')} + ${count - 3} more...` : list.join(',');
}

const firstThree = (items: string[]): string =>
  items.length > 3 ? `${items.slice(0, 3).join(',')} + ${items.length - 3} more...` : items.join(',');

export const SERVICE_PRINTERS: Record<string, KindPrinter> = {
  Service: {
    columns: [
      NAME,
      col('Type', 'string'),
      col('Cluster-IP', 'string'),
      col('External-IP', 'string'),
      col('Port(s)', 'string'),
      AGE,
      col('Selector', 'string', 1),
    ],
    cells: (o, now) => {
      const s = o as Service;
      return [
        s.metadata.name,
        s.spec?.type ?? 'ClusterIP',
        s.spec?.clusterIP || '<none>',
        serviceExternalIp(s),
        servicePorts(s),
        since(s.metadata.creationTimestamp, now),
        formatSelectorMap(s.spec?.selector),
      ];
    },
  },
  Endpoints: {
    columns: [NAME, col('Endpoints', 'string'), AGE],
    cells: (o, now) => [o.metadata.name, formatEndpoints(o as Endpoints), since(o.metadata.creationTimestamp, now)],
  },
  EndpointSlice: {
    columns: [NAME, col('AddressType', 'string'), col('Ports', 'string'), col('Endpoints', 'string'), AGE],
    cells: (o, now) => {
      const es = o as EndpointSlice;
      const ports = (es.ports ?? []).map((p) => (p.port === undefined || p.port === null ? '<unset>' : String(p.port)));
      const addrs = (es.endpoints ?? []).flatMap((e) => e.addresses ?? []);
      return [
        es.metadata.name,
        es.addressType,
        ports.length ? firstThree(ports) : '<unset>',
        addrs.length ? firstThree(addrs) : '<unset>',
        since(es.metadata.creationTimestamp, now),
      ];
    },
  },
};
