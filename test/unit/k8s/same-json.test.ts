import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/k8s/names.js';
import { sameIgnoringResourceVersion, sameJson } from '../../../src/k8s/same-json.js';

// a small deterministic generator of JSON values (seeded LCG), with shuffled key orders
function gen(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 4 : 7));
  if (k === 0) return Math.floor(r() * 3);
  if (k === 1) return ['a', 'b', ''][Math.floor(r() * 3)];
  if (k === 2) return r() < 0.5 ? null : r() < 0.5;
  if (k === 3) return undefined;
  if (k === 4) return Array.from({ length: Math.floor(r() * 3) }, () => value(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (const key of ['x', 'y', 'z'].filter(() => r() < 0.6)) o[key] = value(r, depth + 1);
  return o;
}

function reordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reordered);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reordered(x)]),
  );
}

describe('sameJson', () => {
  it('agrees with comparing canonicalJson texts on 3000 generated pairs', () => {
    const r = gen(7);
    let equal = 0;
    for (let i = 0; i < 3000; i++) {
      const a = value(r, 0);
      const b = r() < 0.5 ? reordered(a) : value(r, 0);
      const want = canonicalJson(a) === canonicalJson(b);
      if (want) equal++;
      expect(sameJson(a, b), `${canonicalJson(a)} vs ${canonicalJson(b)}`).toBe(want);
    }
    expect(equal).toBeGreaterThan(1000); // both outcomes are exercised
    expect(equal).toBeLessThan(2900);
  });

  it('ignores key order, undefined keys and (when asked) resourceVersion, nothing else', () => {
    expect(sameJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, d: undefined })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: null }, {})).toBe(false);
    const a = { metadata: { name: 'n', resourceVersion: '1' }, spec: { x: 1 } };
    expect(sameIgnoringResourceVersion(a, { ...a, metadata: { name: 'n', resourceVersion: '9' } })).toBe(true);
    expect(sameIgnoringResourceVersion(a, { ...a, spec: { x: 2 } })).toBe(false);
  });
});
