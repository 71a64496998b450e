// The lab supervisor with real child processes (no root needed): starts every child of the spec,
// runs a child with a priority in its own session and autogroup, restarts a killed one and counts it, backs off (doubling) for a child that keeps failing, stops and
// starts a child marked stopped on reload, and stops every child on stop().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSupervisorStatus, Supervisor, writeSpec, type SupervisorSpec } from '../../../src/lab/supervisor.js';
import { pidAlive } from '../../../src/lab/procs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-sup-test-'));
const specFile = path.join(dir, 'spec.json');
const statusFile = path.join(dir, 'status.json');
const sups: Supervisor[] = [];
afterAll(async () => {
  for (const s of sups) await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until<T>(fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function spec(children: SupervisorSpec['children']): void {
  writeSpec(specFile, { lab: 'suptest', children });
}

const status = (name: string) => readSupervisorStatus(statusFile)?.children[name];

const sessionOf = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
};
const autogroups = fs.existsSync('/proc/self/autogroup');
const isRoot = process.getuid?.() === 0;

describe('Supervisor', () => {
  it('runs a child with a priority in a session (and scheduler autogroup) of its own, at that nice', async () => {
    spec([
      { name: 'cp', argv: ['sleep', '60'], logFile: path.join(dir, 'cp.log'), nice: isRoot ? -5 : 5 },
      { name: 'plain', argv: ['sleep', '60'], logFile: path.join(dir, 'plain.log') },
    ]);
    const sup = new Supervisor({ specFile, statusFile });
    sups.push(sup);
    const cp = await until(() => status('cp')?.pid);
    const plain = await until(() => status('plain')?.pid);
    expect(sessionOf(cp)).toBe(cp);
    expect(sessionOf(plain)).toBe(sessionOf(process.pid));
    expect(os.getPriority(cp)).toBe(isRoot ? -5 : 5);
    if (autogroups) {
      const group = (pid: number): string => fs.readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();
      expect(group(cp)).not.toBe(group(process.pid));
      expect(group(plain)).toBe(group(process.pid));
      if (isRoot) await until(() => group(cp).endsWith('nice -5'));
    }
    await sup.stop();
    expect(pidAlive(cp) || pidAlive(plain)).toBe(false);
  });

  it('starts children, restarts a killed one with its count, and stops all', async () => {
    spec([
      { name: 'a', argv: ['sleep', '60'], logFile: path.join(dir, 'a.log') },
      { name: 'b', argv: ['sleep', '60'], logFile: path.join(dir, 'b.log') },
    ]);
    const sup = new Supervisor({ specFile, statusFile, baseBackoffMs: 50 });
    sups.push(sup);
    const a1 = await until(() => status('a')?.pid);
    const b1 = await until(() => status('b')?.pid);
    expect(pidAlive(a1) && pidAlive(b1)).toBe(true);
    process.kill(a1, 'SIGKILL');
    const a2 = await until(() => status('a')?.state === 'running' && status('a')!.pid !== a1 && status('a')!.pid);
    expect(status('a')!.restarts).toBe(1);
    expect(status('b')!.restarts).toBe(0);
    expect(status('b')!.pid).toBe(b1);
    await sup.stop();
    expect(pidAlive(a2) || pidAlive(b1)).toBe(false);
    expect(status('a')!.state).toBe('stopped');
  });

  it('backs off a failing child with doubling delays', async () => {
    const log = path.join(dir, 'starts.log');
    spec([{ name: 'crash', argv: ['sh', '-c', `date +%s%N >> ${log}; exit 1`], logFile: path.join(dir, 'crash.log') }]);
    const sup = new Supervisor({ specFile, statusFile, baseBackoffMs: 40, maxBackoffMs: 320, resetAfterMs: 60_000 });
    sups.push(sup);
    await until(() => (status('crash')?.restarts ?? 0) >= 5);
    await sup.stop();
    const starts = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => Number(BigInt(l) / 1_000_000n));
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    // delays 40, 80, 160, 320, 320 ms at least (timers never fire early)
    const floors = [40, 80, 160, 320, 320];
    gaps.slice(0, 5).forEach((g, i) => expect(g).toBeGreaterThanOrEqual(floors[i] - 5));
  });

  it('stops a child marked stopped on reload and starts it again, keeping its restart count', async () => {
    const child = { name: 'n', argv: ['sleep', '60'], logFile: path.join(dir, 'n.log') };
    spec([child]);
    const sup = new Supervisor({ specFile, statusFile, baseBackoffMs: 50 });
    sups.push(sup);
    const p1 = await until(() => status('n')?.pid);
    process.kill(p1, 'SIGKILL');
    await until(() => status('n')?.restarts === 1 && status('n')!.pid);
    const p2 = status('n')!.pid!;
    spec([{ ...child, stopped: true }]);
    sup.reload();
    await until(() => status('n')?.state === 'stopped' && !status('n')!.pid);
    expect(pidAlive(p2)).toBe(false);
    spec([child]);
    sup.reload();
    const p3 = await until(() => status('n')?.state === 'running' && status('n')!.pid);
    expect(p3).not.toBe(p2);
    expect(status('n')!.restarts).toBe(1);
    spec([]);
    sup.reload();
    await until(() => status('n') === undefined);
    expect(pidAlive(p3)).toBe(false);
    await sup.stop();
  });
});
