// Watch streams (`?watch=1`): one JSON watch event per line over a chunked response, from a
// resourceVersion (410 Expired as an ERROR event when too old), filtered by namespace, name, label and
// field selectors, as Table rows when kubectl asks, with BOOKMARK events when allowed and an end after
// timeoutSeconds. A client that does not read (more than 8 MiB queued) is disconnected so it never
// holds the server back.
import type http from 'node:http';
import { apiVersionOf, type ResourceInfo } from '../k8s/resources.js';
import { fieldsMatch, matchesRequirements, type FieldRequirement, type Requirement } from '../k8s/selectors.js';
import { toTable, type IncludeObject } from '../k8s/tables.js';
import type { KubeObject } from '../k8s/types.js';
import { KubeApiError } from '../util/errors.js';
import { statusFromError } from './status.js';
import type { ObjectStore, StoreEvent } from './store.js';

const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export interface WatchRequest {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  labels: Requirement[];
  fields: FieldRequirement[];
  resourceVersion?: string;
  timeoutSeconds?: number;
  bookmarks: boolean;
  table?: { include: IncludeObject };
}

export function serveWatch(
  store: ObjectStore,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  w: WatchRequest,
  now: () => number,
  bookmarkMs = 60_000,
): void {
  const matches = (o: KubeObject): boolean =>
    (w.namespace === undefined || o.metadata.namespace === w.namespace) &&
    (w.name === undefined || o.metadata.name === w.name) &&
    matchesRequirements(w.labels, o.metadata.labels) &&
    fieldsMatch(w.resource.kind, w.fields, o);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache',
  });
  res.flushHeaders();
  let closed = false;
  const writeLine = (line: string): void => {
    if (closed) return;
    if (res.writableLength > MAX_QUEUED_BYTES) {
      finish();
      res.destroy();
      return;
    }
    res.write(line);
  };
  const write = (ev: unknown): void => writeLine(JSON.stringify(ev) + '\n');
  // objects (not Table rows) are encoded once per event for all watches (store.watchLine)
  const send = (type: StoreEvent['type'], o: KubeObject): void =>
    w.table ? write({ type, object: render(o) }) : writeLine(store.watchLine(type, o));
  const render = (o: KubeObject): unknown =>
    w.table ? toTable([o], w.resource.kind, now(), w.table.include, o.metadata.resourceVersion) : o;
  let stop: (() => void) | undefined;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    if (closed) return;
    closed = true;
    stop?.();
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    if (!res.destroyed) res.end();
  };
  req.on('close', finish);
  res.on('error', finish);
  // Watch semantics: an object that stops matching the selector is reported as DELETED (as kube does).
  const matched = new Set<string>();
  const onEvent = (e: StoreEvent): void => {
    const key = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
    const now = matches(e.object);
    const before = matched.has(key);
    if (e.type === 'DELETED') {
      matched.delete(key);
      if (now || before) send('DELETED', e.object);
      return;
    }
    if (now) {
      matched.add(key);
      send(before ? 'MODIFIED' : 'ADDED', e.object);
    } else if (before) {
      matched.delete(key);
      send('DELETED', e.object);
    }
  };
  try {
    if (w.resourceVersion && w.resourceVersion !== '0') {
      for (const o of store.scan(w.resource, w.namespace))
        if (matches(o)) matched.add(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    }
    stop = store.watch((e) => e.resource === w.resource, w.resourceVersion, onEvent);
  } catch (err) {
    const status =
      err instanceof KubeApiError
        ? statusFromError(err)
        : statusFromError(new KubeApiError(500, 'InternalError', String(err)));
    write({ type: 'ERROR', object: status });
    finish();
    return;
  }
  if (w.bookmarks) {
    const kind = w.resource.kind;
    timers.push(
      setInterval(
        () =>
          write({
            type: 'BOOKMARK',
            object: {
              kind,
              apiVersion: apiVersionOf(w.resource),
              metadata: { resourceVersion: store.resourceVersion() },
            },
          }),
        bookmarkMs,
      ),
    );
  }
  const timeout = (w.timeoutSeconds && w.timeoutSeconds > 0 ? w.timeoutSeconds : 1800) * 1000;
  timers.push(setTimeout(finish, timeout));
}
