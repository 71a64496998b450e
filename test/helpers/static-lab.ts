// Helpers for the static-lab tests (`lab up --static`: pods as plain processes, real node agents):
// the built CLI run from a test's own directory, the lab's built-in programs (the `http` server's
// `fetch` client) run inside a pod's namespace, and waiting for a pod to be Running.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { built, CLI, ROOT, run, type Result } from './live-lab.js';
import { waitUntil } from './wait.js';

/** The lab's built-in programs (http, fetch, …), as pods run them. */
export const PROGRAMS = path.join(ROOT, 'dist/src/lab/container-main.js');

/** The CLI and the lab's programs are built (dist/). */
export const builtWithPrograms = (): boolean => built() && fs.existsSync(PROGRAMS);

/** The built CLI, run from `cwd`: `cli(args, timeoutMs)` → its exit code and output. */
export function cliIn(cwd: string): (args: string[], timeoutMs?: number) => Promise<Result> {
  return (args, timeoutMs = 120_000) => run(process.execPath, [CLI, ...args], { cwd, timeoutMs });
}

/** The answer of the built-in HTTP server at `url`, fetched from inside the network namespace `netns`. */
export function fetchFrom(netns: string, url: string): string {
  const r = spawnSync('ip', ['netns', 'exec', netns, process.execPath, PROGRAMS, 'fetch', url], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return r.stdout.trim();
}

/** Waits until `lab status` shows `pod` 1/1 Running. */
export function waitPodRunning(cli: (args: string[]) => Promise<Result>, lab: string, pod: string): Promise<void> {
  const row = new RegExp(`^${pod}\\s+1/1\\s+Running\\s`, 'm');
  return waitUntil(
    async () => row.test((await cli(['lab', 'status', '--name', lab])).out),
    `${pod} to be Running`,
    20_000,
    100,
  );
}
