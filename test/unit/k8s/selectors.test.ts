import { describe, expect, it } from 'vitest';
import {
  checkFieldSelector,
  fieldsMatch,
  formatSelector,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from '../../../src/k8s/selectors.js';

describe('label selectors', () => {
  const sel = parseLabelSelector('a=b,c!=d,e in (x,y),f notin (z),g,!h');
  it('parses every operator', () => {
    expect(sel.map((r) => r.operator)).toEqual(['In', 'NotIn', 'In', 'NotIn', 'Exists', 'DoesNotExist']);
    expect(sel[2].values).toEqual(['x', 'y']);
  });
  it('matches as kube does', () => {
    expect(matchesRequirements(sel, { a: 'b', e: 'x', g: '' })).toBe(true);
    expect(matchesRequirements(sel, { a: 'b', e: 'x', g: '', h: '1' })).toBe(false);
    expect(matchesRequirements(sel, { a: 'b', c: 'd', e: 'x', g: '' })).toBe(false);
    expect(matchesRequirements(sel, { a: 'b', e: 'w', g: '' })).toBe(false);
    expect(matchesRequirements(parseLabelSelector('app==web'), { app: 'web' })).toBe(true);
    expect(matchesRequirements(parseLabelSelector(''), {})).toBe(true);
  });
  it('rejects malformed selectors with one line', () => {
    expect(() => parseLabelSelector('a=b,,c')).toThrow(SelectorError);
    expect(() => parseLabelSelector('a in x')).toThrow(/unable to parse requirement "a in x"/);
    expect(() => parseLabelSelector('a=b c')).toThrow(SelectorError);
  });
  it('formats API selectors as kube prints them', () => {
    expect(formatSelector({ matchLabels: { app: 'nginx', tier: 'web' } })).toBe('app=nginx,tier=web');
    expect(
      formatSelector({
        matchExpressions: [
          { key: 'e', operator: 'In', values: ['y', 'x'] },
          { key: 'f', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('e in (x,y),!f');
  });
});

describe('field selectors', () => {
  it('matches pod fields and rejects unsupported ones', () => {
    const reqs = parseFieldSelector('spec.nodeName=n1,status.phase!=Failed');
    checkFieldSelector('Pod', reqs);
    expect(
      fieldsMatch('Pod', reqs, { metadata: { name: 'p' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } }),
    ).toBe(true);
    expect(
      fieldsMatch('Pod', reqs, { metadata: { name: 'p' }, spec: { nodeName: 'n2' }, status: { phase: 'Running' } }),
    ).toBe(false);
    expect(() => checkFieldSelector('Pod', parseFieldSelector('spec.foo=1'))).toThrow(
      'field label not supported: spec.foo',
    );
    expect(
      fieldsMatch('Event', parseFieldSelector('involvedObject.name=p,involvedObject.kind=Pod'), {
        metadata: {},
        involvedObject: { name: 'p', kind: 'Pod' },
      }),
    ).toBe(true);
  });
});
