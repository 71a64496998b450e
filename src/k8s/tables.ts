// Server-side printing: the meta.k8s.io/v1 Table `kubectl get` asks for, with kube's own columns and
// cells per kind (kubernetes pkg/printers/internalversion/printers.go): pods (STATUS computed as kubectl
// shows it: ContainerCreating, CrashLoopBackOff, Terminating, Completed, …), deployments, replicasets,
// nodes, namespaces, events; any other kind gets NAME and AGE. Cells are always the wide set (the
// server does that too; kubectl hides priority-1 columns unless -o wide). Pure; `now` is injected.
import { since } from './age.js';
import { formatSelector } from './selectors.js';
import { SERVICE_PRINTERS } from './service-tables.js';
import type { NetworkPolicy } from './networkpolicy-types.js';
import type {
  Deployment,
  Event,
  KubeObject,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Table,
  TableColumnDefinition,
  TableRow,
} from './types.js';

const col = (name: string, type: TableColumnDefinition['type'], priority = 0, format = ''): TableColumnDefinition => ({
  name,
  type,
  format,
  description: name,
  priority,
});
const NAME = col('Name', 'string', 0, 'name');
const AGE = col('Age', 'string');

/** The STATUS, READY and RESTARTS cells of a pod, computed as kubectl's printPod does. */
export function podStatusCells(pod: Pod, now: number): { ready: string; status: string; restarts: string } {
  const status = pod.status ?? {};
  let restarts = 0;
  let ready = 0;
  let lastRestart = 0;
  let reason: string = status.reason || status.phase || '';
  const inits = status.initContainerStatuses ?? [];
  let initializing = false;
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    restarts += c.restartCount ?? 0;
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) continue;
    if (t)
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing')
      reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${(pod.spec.initContainers ?? []).length}`;
    initializing = true;
    break;
  }
  const initialized = (status.conditions ?? []).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = 0;
    let hasRunning = false;
    const cs = status.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      restarts += c.restartCount ?? 0;
      const finished = c.lastState?.terminated?.finishedAt;
      if (finished && Date.parse(finished) > lastRestart) lastRestart = Date.parse(finished);
      const st = c.state ?? {};
      if (st.waiting?.reason) reason = st.waiting.reason;
      else if (st.terminated?.reason) reason = st.terminated.reason;
      else if (st.terminated)
        reason = st.terminated.signal ? `Signal:${st.terminated.signal}` : `ExitCode:${st.terminated.exitCode}`;
      else if (c.ready && st.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
        ? 'Running'
        : 'NotReady';
    }
  }
  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && !terminal) reason = 'Terminating';
  const restartsText =
    restarts !== 0 && lastRestart
      ? `${restarts} (${since(new Date(lastRestart).toISOString(), now)} ago)`
      : String(restarts);
  return { ready: `${ready}/${pod.spec.containers?.length ?? 0}`, status: reason, restarts: restartsText };
}

const conditionTrue = (p: Pod, type: string): boolean =>
  (p.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

type Printer = { columns: TableColumnDefinition[]; cells: (o: KubeObject, now: number) => unknown[] };

/** A printer for one kind: PRINTERS is looked up by the objects' kind, so `o` is a T. */
const printer = <T extends KubeObject>(
  columns: TableColumnDefinition[],
  cells: (o: T, now: number) => unknown[],
): Printer => ({ columns, cells: (o, now) => cells(o as T, now) });

/** The columns Deployment and ReplicaSet end with: AGE, then (wide) CONTAINERS, IMAGES, SELECTOR. */
const WORKLOAD_TAIL = [AGE, col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)];

/** The cells of WORKLOAD_TAIL. */
const workloadTail = (o: Deployment | ReplicaSet, now: number): unknown[] => {
  const cs = o.spec?.template?.spec?.containers ?? [];
  return [
    since(o.metadata.creationTimestamp, now),
    cs.map((c) => c.name).join(','),
    cs.map((c) => c.image).join(','),
    formatSelector(o.spec?.selector),
  ];
};

const PRINTERS: Record<string, Printer> = {
  Pod: printer<Pod>(
    [
      NAME,
      col('Ready', 'string'),
      col('Status', 'string'),
      col('Restarts', 'string'),
      AGE,
      col('IP', 'string', 1),
      col('Node', 'string', 1),
      col('Nominated Node', 'string', 1),
      col('Readiness Gates', 'string', 1),
    ],
    (p, now) => {
      const s = podStatusCells(p, now);
      const gates = p.spec as { readinessGates?: { conditionType: string }[] };
      const all = gates.readinessGates ?? [];
      const passed = all.filter((g) => conditionTrue(p, g.conditionType)).length;
      const gateText = all.length ? `${passed}/${all.length}` : '<none>';
      return [
        p.metadata.name,
        s.ready,
        s.status,
        s.restarts,
        since(p.metadata.creationTimestamp, now),
        p.status?.podIPs?.[0]?.ip || p.status?.podIP || '<none>',
        p.spec.nodeName || '<none>',
        (p.status as { nominatedNodeName?: string })?.nominatedNodeName || '<none>',
        gateText,
      ];
    },
  ),
  Deployment: printer<Deployment>(
    [NAME, col('Ready', 'string'), col('Up-to-date', 'number'), col('Available', 'number'), ...WORKLOAD_TAIL],
    (d, now) => [
      d.metadata.name,
      `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
      d.status?.updatedReplicas ?? 0,
      d.status?.availableReplicas ?? 0,
      ...workloadTail(d, now),
    ],
  ),
  ReplicaSet: printer<ReplicaSet>(
    [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), ...WORKLOAD_TAIL],
    (r, now) => [
      r.metadata.name,
      r.spec?.replicas ?? 0,
      r.status?.replicas ?? 0,
      r.status?.readyReplicas ?? 0,
      ...workloadTail(r, now),
    ],
  ),
  Node: printer<Node>(
    [
      NAME,
      col('Status', 'string'),
      col('Roles', 'string'),
      AGE,
      col('Version', 'string'),
      col('Internal-IP', 'string', 1),
      col('External-IP', 'string', 1),
      col('OS-Image', 'string', 1),
      col('Kernel-Version', 'string', 1),
      col('Container-Runtime', 'string', 1),
    ],
    (n, now) => {
      const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      const states = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
      if (n.spec?.unschedulable) states.push('SchedulingDisabled');
      const roles = Object.keys(n.metadata.labels ?? {})
        .filter((l) => l.startsWith('node-role.kubernetes.io/'))
        .map((l) => l.slice('node-role.kubernetes.io/'.length));
      if (n.metadata.labels?.['kubernetes.io/role']) roles.push(n.metadata.labels['kubernetes.io/role']);
      const addr = (t: string): string => (n.status?.addresses ?? []).find((a) => a.type === t)?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [
        n.metadata.name,
        states.join(','),
        roles.length ? roles.sort().join(',') : '<none>',
        since(n.metadata.creationTimestamp, now),
        info.kubeletVersion ?? '',
        addr('InternalIP'),
        addr('ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ];
    },
  ),
  NetworkPolicy: printer<NetworkPolicy>([NAME, col('Pod-Selector', 'string'), AGE], (n, now) => [
    n.metadata.name,
    formatSelector(n.spec?.podSelector) || '<none>',
    since(n.metadata.creationTimestamp, now),
  ]),
  Namespace: printer<Namespace>([NAME, col('Status', 'string'), AGE], (n, now) => [
    n.metadata.name,
    n.status?.phase ?? '',
    since(n.metadata.creationTimestamp, now),
  ]),
  Event: printer<Event>(
    [
      col('Last Seen', 'string'),
      col('Type', 'string'),
      col('Reason', 'string'),
      col('Object', 'string'),
      col('Subobject', 'string', 1),
      col('Source', 'string', 1),
      col('Message', 'string'),
      col('First Seen', 'string', 1),
      col('Count', 'integer', 1),
      col('Name', 'string', 1),
    ],
    (e, now) => {
      const first = e.firstTimestamp ? since(e.firstTimestamp, now) : since(e.eventTime, now);
      const last = e.lastTimestamp ? since(e.lastTimestamp, now) : first;
      const io = e.involvedObject ?? {};
      const target = io.name
        ? `${String(io.kind ?? '').toLowerCase()}/${io.name}`
        : String(io.kind ?? '').toLowerCase();
      const source = [e.source?.component || e.reportingComponent, e.source?.host || e.reportingInstance]
        .filter(Boolean)
        .join(', ');
      return [
        last,
        e.type ?? '',
        e.reason ?? '',
        target,
        io.fieldPath ?? '',
        source,
        String(e.message ?? '').trim(),
        first,
        e.count || 1,
        e.metadata.name,
      ];
    },
  ),
  ...SERVICE_PRINTERS,
};

const DEFAULT_PRINTER: Printer = {
  columns: [NAME, AGE],
  cells: (o, now) => [o.metadata.name, since(o.metadata.creationTimestamp, now)],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(
  objects: KubeObject[],
  kind: string,
  now: number,
  include: IncludeObject,
  resourceVersion?: string,
): Table {
  const printer = PRINTERS[kind] ?? DEFAULT_PRINTER;
  const rows: TableRow[] = objects.map((o) => {
    const row: TableRow = { cells: printer.cells(o, now) };
    const obj = rowObject(o, include);
    if (obj !== undefined) row.object = obj;
    return row;
  });
  return {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'Table',
    metadata: resourceVersion ? { resourceVersion } : {},
    columnDefinitions: printer.columns,
    rows,
  };
}
