// src/util/text-table.ts: the one table format of the CLI and the lab, and kubectl's ages.
import { describe, expect, it } from 'vitest';
import { formatAge, formatTable } from '../../../src/util/text-table.js';

describe('formatTable', () => {
  it('pads every column but the last to its widest cell plus three spaces, no trailing space', () => {
    expect(
      formatTable(
        ['SUBNET', 'PEER', 'PORT'],
        [
          ['10.244.2.0/24', 'node2', '8472'],
          ['10.244.3.0/24', 'n3', ''],
        ],
      ).split('\n'),
    ).toEqual(['SUBNET          PEER    PORT', '10.244.2.0/24   node2   8472', '10.244.3.0/24   n3']);
  });

  it('a header alone, and short rows padded with empty cells', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A   B');
    expect(formatTable(['A', 'B', 'C'], [['x']]).split('\n')).toEqual(['A   B   C', 'x']);
  });
});

describe('formatAge', () => {
  it('ages like kubectl', () => {
    expect(formatAge(20)).toBe('20s');
    expect(formatAge(119)).toBe('119s');
    expect(formatAge(151)).toBe('2m31s');
    expect(formatAge(3600)).toBe('60m');
    expect(formatAge(3 * 3600 + 300)).toBe('3h5m');
    expect(formatAge(5 * 86400)).toBe('5d');
    expect(formatAge(-3)).toBe('0s');
  });
});
