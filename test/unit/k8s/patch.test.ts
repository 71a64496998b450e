import { describe, expect, it } from 'vitest';
import { jsonMergePatch, jsonPatch, strategicMerge, PatchError } from '../../../src/k8s/patch.js';
import type { Pod } from '../../../src/k8s/types.js';

const POD = { ref: 'io.k8s.api.core.v1.Pod' } as const;
const pod = {
  metadata: { name: 'p', labels: { a: '1', b: '2' } },
  spec: {
    containers: [
      { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] },
      { name: 'side', image: 'busybox' },
    ],
  },
};

describe('strategic merge patch', () => {
  it('merges containers by name and ports by containerPort', () => {
    const out = strategicMerge(
      pod,
      { spec: { containers: [{ name: 'web', image: 'nginx:1.2', ports: [{ containerPort: 8080 }] }] } },
      POD,
    ) as Pod;
    expect(out.spec.containers).toHaveLength(2);
    expect(out.spec.containers[0]).toEqual({
      name: 'web',
      image: 'nginx:1.2',
      ports: [{ containerPort: 80 }, { containerPort: 8080 }],
    });
    expect(pod.spec.containers[0].image).toBe('nginx');
  });
  it('honours $patch: delete, $setElementOrder and null', () => {
    const out = strategicMerge(
      pod,
      {
        metadata: { labels: { a: null } },
        spec: {
          '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
          containers: [
            { name: 'web', $patch: 'delete' },
            { name: 'new', image: 'x' },
          ],
        },
      },
      POD,
    ) as Pod;
    expect(out.metadata.labels).toEqual({ b: '2' });
    expect(out.spec.containers.map((c) => c.name)).toEqual(['side', 'new']);
  });
  it('replaces lists without a merge strategy', () => {
    const out = strategicMerge(pod, { spec: { containers: [{ name: 'web', command: ['a', 'b'] }] } }, POD) as Pod;
    const again = strategicMerge(out, { spec: { containers: [{ name: 'web', command: ['c'] }] } }, POD) as Pod;
    expect(again.spec.containers[0].command).toEqual(['c']);
  });
});

describe('merge patch and JSON patch', () => {
  it('RFC 7386', () => {
    expect(jsonMergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      f: [1],
    });
  });
  it('RFC 6902, and errors on a malformed patch', () => {
    expect(
      jsonPatch(
        { a: [1] },
        [
          { op: 'add', path: '/a/-', value: 2 },
          { op: 'replace', path: '/b', value: 1 },
        ].slice(0, 1),
      ),
    ).toEqual({ a: [1, 2] });
    expect(() => jsonPatch({ a: 1 }, { op: 'add' })).toThrow(PatchError);
    expect(() => jsonPatch({ a: 1 }, [{ op: 'remove', path: '/zz' }])).toThrow(PatchError);
  });
});
