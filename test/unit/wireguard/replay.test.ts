// The replay window, with the sequence of wireguard-go's replay/replay_test.go (TestReplay, itself
// ported from the Linux kernel's WireGuard selftest), run against this window's size.
import { describe, expect, it } from 'vitest';
import { REJECT_AFTER_MESSAGES } from '../../../src/wireguard/constants.js';
import { REPLAY_WINDOW, ReplayFilter } from '../../../src/wireguard/replay.js';

const W = BigInt(REPLAY_WINDOW);
const R = REJECT_AFTER_MESSAGES;

describe('ReplayFilter', () => {
  it('has a 2048-bit ring, so a 1984-counter window', () => {
    expect(REPLAY_WINDOW).toBe(1984);
  });

  it('follows the wireguard-go/kernel sequence', () => {
    const f = new ReplayFilter();
    const T_LIM = W + 1n;
    const seq: Array<[bigint, boolean]> = [
      [0n, true],
      [1n, true],
      [1n, false],
      [9n, true],
      [8n, true],
      [7n, true],
      [7n, false],
      [T_LIM, true],
      [T_LIM - 1n, true],
      [T_LIM - 1n, false],
      [T_LIM - 2n, true],
      [2n, true],
      [2n, false],
      [T_LIM + 16n, true],
      [3n, false],
      [T_LIM + 16n, false],
      [T_LIM * 4n, true],
      [T_LIM * 4n - (T_LIM - 1n), true],
      [10n, false],
      [T_LIM * 4n - T_LIM, false],
      [T_LIM * 4n - (T_LIM + 1n), false],
      [T_LIM * 4n - (T_LIM - 2n), true],
      [T_LIM * 4n + 1n - T_LIM, false],
      [0n, false],
      [R, false],
      [R - 1n, true],
      [R, false],
      [R - 1n, false],
      [R - 2n, true],
      [R + 1n, false],
      [R + 2n, false],
      [R - 2n, false],
      [R - 3n, true],
      [0n, false],
    ];
    seq.forEach(([n, want], i) => expect([i + 1, f.validate(n, R)]).toEqual([i + 1, want]));
  });

  it('bulk: a full window forwards, then 0 once', () => {
    const f = new ReplayFilter();
    for (let i = 1n; i <= W; i++) expect(f.validate(i, R)).toBe(true);
    expect(f.validate(0n, R)).toBe(true);
    expect(f.validate(0n, R)).toBe(false);
  });

  it('bulk: one past the window pushes 0 out', () => {
    const f = new ReplayFilter();
    for (let i = 2n; i <= W + 1n; i++) expect(f.validate(i, R)).toBe(true);
    expect(f.validate(1n, R)).toBe(true);
    expect(f.validate(0n, R)).toBe(false);
  });

  it('bulk: backwards through the window', () => {
    const f = new ReplayFilter();
    for (let i = W + 1n; i > 0n; i--) expect(f.validate(i, R)).toBe(true);
    f.reset();
    for (let i = W + 2n; i > 1n; i--) expect(f.validate(i, R)).toBe(true);
    expect(f.validate(0n, R)).toBe(false);
    f.reset();
    for (let i = W; i > 0n; i--) expect(f.validate(i, R)).toBe(true);
    expect(f.validate(W + 1n, R)).toBe(true);
    expect(f.validate(0n, R)).toBe(false);
    f.reset();
    for (let i = W; i > 0n; i--) expect(f.validate(i, R)).toBe(true);
    expect(f.validate(0n, R)).toBe(true);
    expect(f.validate(W + 1n, R)).toBe(true);
  });

  it('reordered delivery inside the window is accepted once each', () => {
    const f = new ReplayFilter();
    const order = [5n, 3n, 4n, 1n, 2n, 0n, 1000n, 999n, 17n];
    for (const n of order) expect(f.validate(n, R)).toBe(true);
    for (const n of order) expect(f.validate(n, R)).toBe(false);
  });
});
