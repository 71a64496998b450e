// src/sys/run.ts with ordinary commands (node itself, a missing command): output, stdin, exit
// codes, the one-line DeviceError naming the command and its stderr, detached and interactive runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidAlive } from '../../../src/sys/proc.js';
import { netnsArgv, run, runInteractive, runQuiet, spawnDetached } from '../../../src/sys/run.js';
import { DeviceError } from '../../../src/util/errors.js';

const node = process.execPath;

describe('run', () => {
  it('returns stdout and stderr, feeds stdin, passes extra environment', async () => {
    const r = await run(node, ['-e', 'process.stdin.pipe(process.stdout); console.error(process.env.FLT_X)'], {
      input: 'hello',
      env: { FLT_X: 'x1' },
    });
    expect(r).toEqual({ stdout: 'hello', stderr: 'x1\n' });
  });

  it('a failing command rejects with DeviceError: the command line and the first stderr line', async () => {
    const err = await run(node, ['-e', 'console.error("first\\nsecond"); process.exit(3)']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toBe(`${node} -e console.error("first\\nsecond"); process.exit(3): first`);
  });

  it('a missing command says so', async () => {
    const err = await run('flt-no-such-command', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toBe('the `flt-no-such-command` command is missing');
  });
});

describe('runQuiet', () => {
  it('reports exit code and output instead of rejecting', async () => {
    expect(await runQuiet([node, '-e', 'console.log("out"); console.error("err"); process.exit(2)'])).toEqual({
      code: 2,
      out: 'out\nerr',
    });
    expect(await runQuiet([node, '-e', ''])).toEqual({ code: 0, out: '' });
    expect((await runQuiet(['flt-no-such-command'])).code).toBe(1);
  });
});

describe('netnsArgv', () => {
  it('runs argv through ip netns exec', () => {
    expect(netnsArgv('flt-x-node1', ['ping', '-c', '1', '10.244.2.2'])).toEqual([
      'ip',
      'netns',
      'exec',
      'flt-x-node1',
      'ping',
      '-c',
      '1',
      '10.244.2.2',
    ]);
  });
});

describe('spawnDetached and runInteractive', () => {
  it('a detached process writes to its log file and is its own session leader', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-run-'));
    try {
      const log = path.join(dir, 'x.log');
      const pid = spawnDetached([node, '-e', 'console.log("to the log", process.env.FLT_Y)'], log, { FLT_Y: 'y1' });
      const end = Date.now() + 10_000;
      while (pidAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(fs.readFileSync(log, 'utf8')).toBe('to the log y1\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runInteractive resolves with the exit status, 128 + N for a signal', async () => {
    expect(await runInteractive([node, '-e', 'process.exit(5)'])).toBe(5);
    expect(await runInteractive([node, '-e', 'process.kill(process.pid, "SIGTERM")'])).toBe(143);
  });
});
