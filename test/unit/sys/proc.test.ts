// src/sys/proc.ts: capability parsing from /proc/self/status text and the zombie check, on text
// fixtures and on real processes of this test.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CAP_NET_ADMIN,
  CAP_SYS_ADMIN,
  hasCapabilitiesIn,
  isZombieStat,
  parseEffectiveCapabilities,
  pidAlive,
} from '../../../src/sys/proc.js';

describe('capabilities', () => {
  it('reads CapEff as a bit set', () => {
    expect(parseEffectiveCapabilities('Name:\tnode\nCapInh:\t0\nCapEff:\t0000000000201000\nCapBnd:\t1ff\n')).toBe(
      0x201000n,
    );
    expect(parseEffectiveCapabilities('Name:\tnode\n')).toBeUndefined();
  });

  it('checks that every asked capability is there', () => {
    const both = 'CapEff:\t0000000000201000\n';
    expect(hasCapabilitiesIn(both, [CAP_NET_ADMIN, CAP_SYS_ADMIN])).toBe(true);
    expect(hasCapabilitiesIn('CapEff:\t0000000000001000\n', [CAP_NET_ADMIN])).toBe(true);
    expect(hasCapabilitiesIn('CapEff:\t0000000000001000\n', [CAP_NET_ADMIN, CAP_SYS_ADMIN])).toBe(false);
    expect(hasCapabilitiesIn('', [CAP_NET_ADMIN])).toBe(false);
  });
});

describe('zombie check', () => {
  it('reads the state after the last parenthesis of the command name', () => {
    expect(isZombieStat('1234 (sleep) Z 1 1234 1234 0 -1')).toBe(true);
    expect(isZombieStat('1234 (sleep) S 1 1234 1234 0 -1')).toBe(false);
    expect(isZombieStat('1234 (a) Z (b)) S 1 1234')).toBe(false);
  });

  it('a running child is alive; once it exits (a zombie until reaped, then gone) it is not', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    expect(pidAlive(child.pid!)).toBe(true);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(pidAlive(child.pid!)).toBe(false);
  });
});
