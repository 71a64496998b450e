// Containers as processes: each start of a container ("attempt" n = its restart count) has a directory
// `<podDir>/containers/<name>/<n>/` with spec.json, the CRI log container.log, and the shim's
// state.json / exit.json (see native/shim.c, or its Node.js twin shim-main.ts). The container process joins the pod's network namespace
// and the pause process's UTS namespace and gets its own mount namespace (rootfs.ts).
// startContainer throws DeviceError when the shim does not report within 10 s; the readers never throw.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DeviceError } from '../util/errors.js';
import { processAlive } from './sandbox.js';

export interface ShimState {
  shimPid: number;
  pid: number;
  startedAt: string;
}

export interface ExitRecord {
  exitCode: number;
  signal?: number;
  startedAt?: string;
  finishedAt: string;
  message?: string;
}

export interface AttemptInfo {
  attempt: number;
  dir: string;
  state?: ShimState;
  exit?: ExitRecord;
  /** running: the process is alive; exited: it ended (exit set); lost: neither (its shim died). */
  phase: 'running' | 'exited' | 'lost' | 'starting';
}

export function containerDir(podDir: string, name: string): string {
  return path.join(podDir, 'containers', name);
}

export function attemptDir(podDir: string, name: string, attempt: number): string {
  return path.join(containerDir(podDir, name), String(attempt));
}

const readJson = <T>(file: string): T | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

/** Attempt numbers present for a container, ascending. */
export function attempts(podDir: string, name: string): number[] {
  try {
    return fs
      .readdirSync(containerDir(podDir, name))
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export function readAttempt(podDir: string, name: string, attempt: number): AttemptInfo {
  const dir = attemptDir(podDir, name, attempt);
  const state = readJson<ShimState>(path.join(dir, 'state.json'));
  const exit = readJson<ExitRecord>(path.join(dir, 'exit.json'));
  let phase: AttemptInfo['phase'];
  if (exit) phase = 'exited';
  else if (state && processAlive(state.pid)) phase = 'running';
  else if (state && processAlive(state.shimPid)) phase = 'running';
  else if (!state && fs.existsSync(path.join(dir, 'spec.json')) && shimStarting(dir)) phase = 'starting';
  else phase = 'lost';
  return { attempt, dir, state, exit, phase };
}

function shimStarting(dir: string): boolean {
  const pid = readJson<number>(path.join(dir, 'shim.pid'));
  return pid !== undefined && processAlive(pid);
}

export function logFileOf(dir: string): string {
  return path.join(dir, 'container.log');
}

export interface StartSpec {
  argv: string[];
  env: Record<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the shim for attempt `dir` (created by the caller) and waits until the container runs. */
export async function startContainer(shim: readonly string[], dir: string, spec: StartSpec): Promise<AttemptInfo> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec, null, 2));
  // The same for the C shim (native/shim.c): NUL-separated argv and KEY=VALUE env.
  fs.writeFileSync(path.join(dir, 'argv'), spec.argv.map((a) => `${a}\0`).join(''));
  fs.writeFileSync(
    path.join(dir, 'env'),
    Object.entries(spec.env)
      .map(([k, v]) => `${k}=${v}\0`)
      .join(''),
  );
  const child = spawn(shim[0], [...shim.slice(1), dir], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new DeviceError(`cannot start the container shim ${shim.join(' ')}`);
  fs.writeFileSync(path.join(dir, 'shim.pid'), String(child.pid));
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [podDir, name, n] = splitAttemptDir(dir);
    const info = readAttempt(podDir, name, n);
    if (info.exit || (info.state && entered(info.state.pid))) return info;
    await sleep(20);
  }
  throw new DeviceError(`the shim for ${dir} did not start the container within 10 s`);
}

/** True once the process runs in its container root (the start script has chrooted), or is gone. */
function entered(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/root`) !== '/';
  } catch {
    return true;
  }
}

function splitAttemptDir(dir: string): [string, string, number] {
  const n = Number(path.basename(dir));
  const name = path.basename(path.dirname(dir));
  return [path.dirname(path.dirname(path.dirname(dir))), name, n];
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

/**
 * Stops a running attempt: SIGTERM to its process group, up to `graceMs` for it to exit, then SIGKILL.
 * Resolves with 'exited' (ended within the grace period), 'killed' or 'gone' (not running).
 */
export async function stopContainer(info: AttemptInfo, graceMs: number): Promise<'exited' | 'killed' | 'gone'> {
  if (!info.state || info.exit) return 'gone';
  const pid = info.state.pid;
  const done = (): boolean =>
    fs.existsSync(path.join(info.dir, 'exit.json')) || (!processAlive(pid) && !processAlive(info.state!.shimPid));
  if (done()) return 'gone';
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (done()) return 'exited';
    await sleep(25);
  }
  signalGroup(pid, 'SIGKILL');
  const until = Date.now() + 5000;
  while (Date.now() < until && !done()) await sleep(25);
  return 'killed';
}

/** The argv that runs `argv` inside a running container (its network, UTS and mount namespaces and root). */
export function execArgv(containerPid: number, argv: readonly string[]): string[] {
  return ['nsenter', '-t', String(containerPid), '-n', '-u', '-m', '-r', '-w', '--', ...argv];
}

/** The argv of a container's main process: join the pod's namespaces, own mount namespace, start script. */
export function containerLaunchArgv(
  netns: string,
  pausePid: number,
  script: string,
  argv: readonly string[],
): string[] {
  return [
    'nsenter',
    `--net=/run/netns/${netns}`,
    `--uts=/proc/${pausePid}/ns/uts`,
    '--',
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    script,
    'sh',
    ...argv,
  ];
}
