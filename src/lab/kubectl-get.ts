// `lab get KIND [NAME] [-n NS|-A] [-o wide|yaml|json|name] [-l SEL] [--field-selector F] [-w]`, as
// kubectl does it: the server's Table for the plain and wide output, the objects for yaml/json
// (a `List` for several), `kind.group/name` for `-o name`, "No resources found in NS namespace." on
// stderr for an empty list, and with -w the table's rows again for every watch event.
// Throws ConfigError (bad -o), KubeApiError (the server's answer), DeviceError (no answer).
import { stringify } from 'yaml';
import { ConfigError } from '../util/errors.js';
import type { KubeList, KubeObject, Table, WatchEvent } from '../k8s/types.js';
import { formatServerTable, tableCells, tabwrite } from './kubectl-format.js';
import type { KubeClient } from './kube-client.js';
import { TABLE_ACCEPT } from './kube-client.js';
import {
  apiVersionOf,
  collectionPath,
  nameOf,
  objectPath,
  query,
  resolveResource,
  type ResourceInfo,
} from './kube-resources.js';

export interface KubectlIo {
  client: KubeClient;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
  fieldSelector?: string;
  watch?: boolean;
  signal?: AbortSignal;
}

const OUTPUTS = ['wide', 'yaml', 'json', 'name'];

/** Removes what kubectl leaves out of yaml/json output: nothing (it prints the object as served). */
export function printObjects(objs: KubeObject[], asList: boolean, format: 'yaml' | 'json'): string {
  const doc = asList ? { apiVersion: 'v1', items: objs, kind: 'List', metadata: { resourceVersion: '' } } : objs[0];
  return format === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc);
}

export async function getCommand(io: KubectlIo, kind: string, names: string[], o: GetOptions): Promise<number> {
  if (o.output !== undefined && !OUTPUTS.includes(o.output)) {
    throw new ConfigError(
      `unable to match a printer suitable for the output format "${o.output}", allowed formats are: ${OUTPUTS.join(',')}`,
    );
  }
  const r = resolveResource(kind);
  const ns = o.allNamespaces ? undefined : (o.namespace ?? 'default');
  const q = query({ labelSelector: o.selector, fieldSelector: o.fieldSelector });
  const paths = names.length > 0 ? names.map((n) => objectPath(r, n, ns ?? 'default')) : [collectionPath(r, ns) + q];

  if (o.output === 'yaml' || o.output === 'json' || o.output === 'name') {
    const objs: KubeObject[] = [];
    for (const p of paths) {
      const got = await io.client.get<KubeObject | KubeList>(p);
      if ('items' in got) objs.push(...got.items.map((i) => ({ ...i, apiVersion: apiVersionOf(r), kind: r.kind })));
      else objs.push(got);
    }
    if (o.output === 'name') {
      for (const obj of objs) io.out.write(`${nameOf(r, obj.metadata.name ?? '')}\n`);
    } else if (objs.length === 0 && names.length === 0) {
      io.out.write(printObjects([], true, o.output));
    } else {
      io.out.write(printObjects(objs, names.length !== 1, o.output));
    }
    return 0;
  }

  const tables: Table[] = [];
  for (const p of paths) tables.push(await io.client.table(p));
  const table: Table = { ...tables[0], rows: tables.flatMap((t) => t.rows) };
  const wide = o.output === 'wide';
  const withNamespace = o.allNamespaces === true && r.namespaced;
  const text = formatServerTable(table, { wide, withNamespace });
  if (text) io.out.write(`${text}\n`);
  else if (!o.watch) io.err.write(noResources(r, ns));
  if (!o.watch) return 0;
  await watchRows(io, r, ns, q, table, { wide, withNamespace }, o.signal);
  return 0;
}

export function noResources(r: ResourceInfo, ns: string | undefined): string {
  return r.namespaced && ns !== undefined ? `No resources found in ${ns} namespace.\n` : 'No resources found\n';
}

/** Prints a row per watch event, laid out against the first table's header (as kubectl -w does). */
async function watchRows(
  io: KubectlIo,
  r: ResourceInfo,
  ns: string | undefined,
  q: string,
  first: Table,
  o: { wide: boolean; withNamespace: boolean },
  signal?: AbortSignal,
): Promise<void> {
  const base = tableCells(first, o);
  const rv = first.metadata?.resourceVersion;
  const path = collectionPath(r, ns) + (q ? `${q}&` : '?') + (rv ? `resourceVersion=${rv}` : '');
  await io.client.watch<KubeObject>(
    path.replace(/[?&]$/, ''),
    (e: WatchEvent<KubeObject>) => {
      const obj = e.object;
      if (obj.kind !== 'Table') return;
      const cells = tableCells(
        {
          ...(obj as Table),
          columnDefinitions: (obj as Table).columnDefinitions?.length
            ? (obj as Table).columnDefinitions
            : first.columnDefinitions,
        },
        o,
      );
      const lines = tabwrite([base.header, ...base.rows, ...cells.rows]);
      for (const line of lines.slice(1 + base.rows.length)) io.out.write(`${line}\n`);
    },
    { accept: TABLE_ACCEPT, signal },
  );
}
