// The meta/v1 types of the Kubernetes API (lists, Status errors, watch events, server-side Tables), as
// plain JSON shapes; types.ts re-exports them, so importers use one path. Only types.
import type { KubeObject } from './types.js';

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string; // e.g. PodList, or List for a mixed list in a manifest
  metadata: ListMeta;
  items: T[];
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** meta/v1 Status: every API error (and a few successes) is one of these. */
export interface Status {
  apiVersion: 'v1';
  kind: 'Status';
  metadata: ListMeta;
  status: 'Success' | 'Failure';
  message?: string;
  /** NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Unauthorized, Forbidden, MethodNotAllowed,
   * NotAcceptable, UnsupportedMediaType, RequestEntityTooLarge, Gone, Expired, Timeout, InternalError, … */
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[] };
  code: number;
}

/** A watch event as the API streams it (one JSON object per line). */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | Status;
}

/** meta.k8s.io/v1 Table, what `kubectl get` asks the server for. */
export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number; // 0 = shown always, 1 = only with -o wide
}

export interface TableRow {
  cells: unknown[];
  object?: unknown; // PartialObjectMetadata or the full object, as includeObject asks
}

export interface Table {
  apiVersion: 'meta.k8s.io/v1';
  kind: 'Table';
  metadata: ListMeta;
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}
