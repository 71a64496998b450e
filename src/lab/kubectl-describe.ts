// `lab describe KIND NAME`, laid out as kubectl describe does (one Go tabwriter, minwidth 0,
// padding 2, over `Label:\tvalue` lines): pods in kubectl's full form (Name, Namespace, Node, Start
// Time, Labels, Annotations, Status, IP:, IPs:, Controlled By, Containers with Image/Port/State/
// Ready/Restart Count/Environment/Mounts, Conditions, Volumes, Events); other kinds as their
// metadata, spec and status in YAML, then their Events. Throws KubeApiError / DeviceError.
import { stringify } from 'yaml';
import type { Container, ContainerState, ContainerStatus, Event, KubeList, KubeObject, Pod } from '../k8s/types.js';
import { ageSince, goTabwriter } from './kubectl-format.js';
import type { KubeClient } from './kube-client.js';
import { objectPath, query, resolveResource } from './kube-resources.js';

type Line = string[];

export function rfc1123(ts: string | undefined): string {
  if (!ts) return '<unknown>';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toUTCString().replace('GMT', '+0000');
}

const SKIPPED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

function mapLines(label: string, indent: string, map: Record<string, string> | undefined): Line[] {
  const entries = Object.entries(map ?? {})
    .filter(([k]) => !SKIPPED_ANNOTATIONS.has(k))
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return [[`${indent}${label}:`, '<none>']];
  return entries.map(([k, v], i) => [i === 0 ? `${indent}${label}:` : indent, `${k}=${v}`]);
}

function stateLines(label: string, st: ContainerState | undefined, indent: string): Line[] {
  if (!st || Object.keys(st).length === 0) return label === 'State' ? [[`${indent}State:`, 'Waiting']] : [];
  if (st.running)
    return [
      [`${indent}${label}:`, 'Running'],
      [`${indent}  Started:`, rfc1123(st.running.startedAt)],
    ];
  if (st.waiting) {
    const lines: Line[] = [[`${indent}${label}:`, 'Waiting']];
    if (st.waiting.reason) lines.push([`${indent}  Reason:`, st.waiting.reason]);
    return lines;
  }
  const t = st.terminated!;
  const lines: Line[] = [[`${indent}${label}:`, 'Terminated']];
  if (t.reason) lines.push([`${indent}  Reason:`, t.reason]);
  lines.push([`${indent}  Exit Code:`, String(t.exitCode)]);
  if (t.startedAt) lines.push([`${indent}  Started:`, rfc1123(t.startedAt)]);
  if (t.finishedAt) lines.push([`${indent}  Finished:`, rfc1123(t.finishedAt)]);
  return lines;
}

function containerLines(c: Container, s: ContainerStatus | undefined): Line[] {
  const i = '    ';
  const lines: Line[] = [[`  ${c.name}:`]];
  if (s?.containerID) lines.push([`${i}Container ID:`, s.containerID]);
  lines.push([`${i}Image:`, c.image ?? '']);
  lines.push([`${i}Image ID:`, s?.imageID ?? '']);
  const ports = c.ports ?? [];
  if (ports.length === 0) lines.push([`${i}Port:`, '<none>'], [`${i}Host Port:`, '<none>']);
  else {
    lines.push([
      `${i}Port${ports.length > 1 ? 's' : ''}:`,
      ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', '),
    ]);
    lines.push([
      `${i}Host Port${ports.length > 1 ? 's' : ''}:`,
      ports.map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', '),
    ]);
  }
  if (c.command) lines.push([`${i}Command:`], ...c.command.map((w) => [`${i}  ${w}`]));
  if (c.args) lines.push([`${i}Args:`], ...c.args.map((w) => [`${i}  ${w}`]));
  lines.push(...stateLines('State', s?.state, i));
  if (s?.lastState && Object.keys(s.lastState).length > 0) lines.push(...stateLines('Last State', s.lastState, i));
  lines.push([`${i}Ready:`, s?.ready ? 'True' : 'False']);
  lines.push([`${i}Restart Count:`, String(s?.restartCount ?? 0)]);
  const env = c.env ?? [];
  if (env.length === 0) lines.push([`${i}Environment:`, '<none>']);
  else {
    lines.push([`${i}Environment:`]);
    for (const e of env)
      lines.push([
        `${i}  ${e.name}:`,
        e.value ??
          (e.valueFrom?.fieldRef
            ? ` (${e.valueFrom.fieldRef.apiVersion ?? 'v1'}:${e.valueFrom.fieldRef.fieldPath})`
            : ''),
      ]);
  }
  const mounts = c.volumeMounts ?? [];
  if (mounts.length === 0) lines.push([`${i}Mounts:`, '<none>']);
  else
    mounts.forEach((m, k) =>
      lines.push([k === 0 ? `${i}Mounts:` : i, `${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'})`]),
    );
  return lines;
}

export function eventLines(events: readonly Event[], now = Date.now()): Line[] {
  if (events.length === 0) return [['Events:', '<none>']];
  const sorted = [...events].sort(
    (a, b) => Date.parse(a.lastTimestamp ?? a.eventTime ?? '') - Date.parse(b.lastTimestamp ?? b.eventTime ?? ''),
  );
  const lines: Line[] = [
    ['Events:'],
    ['  Type', 'Reason', 'Age', 'From', 'Message'],
    ['  ----', '------', '----', '----', '-------'],
  ];
  for (const e of sorted) {
    const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
    const first = e.firstTimestamp ?? last;
    let age = ageSince(last ?? undefined, now);
    if ((e.count ?? 1) > 1) age = `${age} (x${e.count} over ${ageSince(first ?? undefined, now)})`;
    lines.push([
      `  ${e.type ?? 'Normal'}`,
      e.reason ?? '',
      age,
      e.source?.component ?? e.reportingComponent ?? '',
      (e.message ?? '').trim(),
    ]);
  }
  return lines;
}

export function describePodLines(pod: Pod, events: readonly Event[], now = Date.now()): Line[] {
  const m = pod.metadata;
  const st = pod.status ?? {};
  const lines: Line[] = [
    ['Name:', m.name ?? ''],
    ['Namespace:', m.namespace ?? 'default'],
    ['Priority:', '0'],
    ['Service Account:', 'default'],
    ['Node:', pod.spec.nodeName ? `${pod.spec.nodeName}/${st.hostIP ?? ''}` : '<none>'],
  ];
  if (st.startTime) lines.push(['Start Time:', rfc1123(st.startTime)]);
  lines.push(...mapLines('Labels', '', m.labels), ...mapLines('Annotations', '', m.annotations));
  if (m.deletionTimestamp) lines.push(['Status:', `Terminating (lasts ${ageSince(m.deletionTimestamp, now)})`]);
  else lines.push(['Status:', st.phase ?? 'Pending']);
  if (st.reason) lines.push(['Reason:', st.reason]);
  if (st.message) lines.push(['Message:', st.message]);
  lines.push(['IP:', st.podIP ?? '']);
  const ips = st.podIPs ?? (st.podIP ? [{ ip: st.podIP }] : []);
  if (ips.length === 0) lines.push(['IPs:', '<none>']);
  else lines.push(['IPs:'], ...ips.map((x) => ['  IP:', x.ip]));
  const owner = m.ownerReferences?.find((o) => o.controller);
  if (owner) lines.push(['Controlled By:', `${owner.kind}/${owner.name}`]);
  lines.push(['Containers:']);
  for (const c of pod.spec.containers)
    lines.push(
      ...containerLines(
        c,
        st.containerStatuses?.find((s) => s.name === c.name),
      ),
    );
  const conds = st.conditions ?? [];
  if (conds.length > 0)
    lines.push(['Conditions:'], ['  Type', 'Status'], ...conds.map((c) => [`  ${c.type}`, `${c.status} `]));
  const vols = pod.spec.volumes ?? [];
  if (vols.length === 0) lines.push(['Volumes:', '<none>']);
  else {
    lines.push(['Volumes:']);
    for (const v of vols) {
      lines.push([`  ${v.name}:`]);
      if (v.emptyDir) {
        lines.push(['    Type:', "EmptyDir (a temporary directory that shares a pod's lifetime)"]);
        lines.push(['    Medium:', v.emptyDir.medium ?? ''], ['    SizeLimit:', v.emptyDir.sizeLimit ?? '<unset>']);
      }
    }
  }
  lines.push(['QoS Class:', st.qosClass ?? 'BestEffort']);
  lines.push(...mapLines('Node-Selectors', '', pod.spec.nodeSelector));
  lines.push(['Tolerations:', '<none>']);
  lines.push(...eventLines(events, now));
  return lines;
}

function genericLines(obj: KubeObject, events: readonly Event[], now: number): Line[] {
  const m = obj.metadata;
  const lines: Line[] = [['Name:', m.name ?? '']];
  if (m.namespace) lines.push(['Namespace:', m.namespace]);
  lines.push(['CreationTimestamp:', rfc1123(m.creationTimestamp)]);
  lines.push(...mapLines('Labels', '', m.labels), ...mapLines('Annotations', '', m.annotations));
  const rest = obj as unknown as Record<string, unknown>;
  for (const key of ['spec', 'status']) {
    if (rest[key] === undefined) continue;
    lines.push([`${key[0].toUpperCase()}${key.slice(1)}:`]);
    for (const l of stringify(rest[key]).trimEnd().split('\n')) lines.push([`  ${l}`]);
  }
  lines.push(...eventLines(events, now));
  return lines;
}

export async function describeCommand(
  client: KubeClient,
  out: NodeJS.WritableStream,
  kind: string,
  name: string,
  namespace = 'default',
): Promise<number> {
  const r = resolveResource(kind);
  const obj = await client.get<KubeObject>(objectPath(r, name, namespace));
  const evNs = r.namespaced ? namespace : 'default';
  const fs = `involvedObject.name=${name},involvedObject.kind=${r.kind}${obj.metadata.uid ? `,involvedObject.uid=${obj.metadata.uid}` : ''}`;
  let events: Event[];
  try {
    events = (await client.get<KubeList<Event>>(`/api/v1/namespaces/${evNs}/events${query({ fieldSelector: fs })}`))
      .items;
    events = events.filter(
      (e) =>
        e.involvedObject.name === name &&
        (!obj.metadata.uid || !e.involvedObject.uid || e.involvedObject.uid === obj.metadata.uid),
    );
  } catch {
    events = [];
  }
  const now = Date.now();
  const lines = r.kind === 'Pod' ? describePodLines(obj as Pod, events, now) : genericLines(obj, events, now);
  out.write(`${goTabwriter(lines, 0, 2).join('\n')}\n`);
  return 0;
}
