import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectStore, type StoreEvent } from '../../../src/controlplane/store.js';
import { RESOURCES } from '../../../src/k8s/resources.js';
import type { Node, Pod } from '../../../src/k8s/types.js';
import { KubeApiError } from '../../../src/util/errors.js';

const PODS = RESOURCES.find((r) => r.plural === 'pods')!;
const NODES = RESOURCES.find((r) => r.plural === 'nodes')!;
const t = Date.parse('2026-01-01T00:00:00Z');
const opts = (dir?: string, historySize?: number) => ({ dir, now: () => t, random: () => 0.5, historySize });
const pod = (name: string, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [] },
  ...extra,
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-store-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function apiError(fn: () => unknown): KubeApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KubeApiError) return e;
    throw e;
  }
  throw new Error('expected a KubeApiError');
}

describe('ObjectStore', () => {
  it('assigns uid, creationTimestamp, generation and increasing resourceVersions; generateName', () => {
    const s = new ObjectStore(opts(), RESOURCES);
    const a = s.create(PODS, pod('a'));
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toBe('2026-01-01T00:00:00Z');
    expect([a.metadata.generation, a.metadata.resourceVersion]).toEqual([1, '1']);
    const g = s.create(PODS, { ...pod(''), metadata: { generateName: 'web-', namespace: 'default' } });
    expect(g.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(apiError(() => s.create(PODS, pod('a')))).toMatchObject({
      httpStatus: 409,
      reason: 'AlreadyExists',
      message: 'pods "a" already exists',
    });
    expect(apiError(() => s.mustGet(PODS, 'default', 'zz'))).toMatchObject({
      httpStatus: 404,
      message: 'pods "zz" not found',
    });
  });

  it('bumps generation only on spec changes and refuses a stale resourceVersion', () => {
    const s = new ObjectStore(opts(), RESOURCES);
    const a = s.create(PODS, pod('a'));
    const b = s.update(PODS, { ...a, status: { phase: 'Running' } } as Pod);
    expect(b.metadata.generation).toBe(1);
    const c = s.update(PODS, { ...b, spec: { containers: [{ name: 'x' }] } } as Pod);
    expect(c.metadata.generation).toBe(2);
    expect(Number(c.metadata.resourceVersion)).toBeGreaterThan(Number(b.metadata.resourceVersion));
    expect(apiError(() => s.update(PODS, b)).reason).toBe('Conflict');
    const same = s.update(PODS, c);
    expect(same.metadata.resourceVersion).toBe(c.metadata.resourceVersion);
  });

  it('watches from a resourceVersion, and answers 410 Expired beyond the history window', () => {
    const s = new ObjectStore(opts(undefined, 3), RESOURCES);
    s.create(PODS, pod('a'));
    const rv = s.resourceVersion();
    s.create(PODS, pod('b'));
    s.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} } as Node);
    const seen: string[] = [];
    const stop = s.watch(
      (e) => e.resource === PODS,
      rv,
      (e: StoreEvent) => seen.push(`${e.type} ${e.object.metadata.name}`),
    );
    s.remove(PODS, 'default', 'a');
    stop();
    s.create(PODS, pod('c'));
    expect(seen).toEqual(['ADDED b', 'DELETED a']);
    s.create(PODS, pod('d'));
    expect(
      apiError(() =>
        s.watch(
          () => true,
          '1',
          () => {},
        ),
      ),
    ).toMatchObject({ httpStatus: 410, reason: 'Expired' });
    const initial: string[] = [];
    s.watch(
      (e) => e.resource === PODS,
      undefined,
      (e) => initial.push(e.object.metadata.name!),
    )();
    expect(initial.sort()).toEqual(['b', 'c', 'd']);
  });

  it('survives a restart with its objects and keeps resourceVersions increasing', () => {
    const dir = path.join(tmp, 'cp');
    const s1 = new ObjectStore(opts(dir), RESOURCES);
    s1.create(PODS, pod('a'));
    const b = s1.create(PODS, pod('b'));
    s1.remove(PODS, 'default', 'a');
    s1.close();
    fs.appendFileSync(path.join(dir, 'objects.jsonl'), '{"rv":99,"key":"torn');
    const s2 = new ObjectStore(opts(dir), RESOURCES);
    expect(s2.list(PODS).items.map((p) => p.metadata.uid)).toEqual([b.metadata.uid]);
    const c = s2.create(PODS, pod('c'));
    expect(Number(c.metadata.resourceVersion)).toBe(4);
    s2.close();
    const s3 = new ObjectStore(opts(dir), RESOURCES);
    expect(s3.list(PODS, 'default').items.map((p) => p.metadata.name)).toEqual(['b', 'c']);
    expect(s3.resourceVersion()).toBe('4');
    s3.close();
  });
});
