// Commands, long-running children, temporary directories and network namespaces for the overlay benchmark, with one
// cleanup registry: every namespace created here (names `flt-bench-<random>`) and every child
// spawned through `spawnTracked` is removed/killed by `cleanupAll()`, which the entry point calls in
// `finally`, on SIGINT/SIGTERM, and (synchronously, namespaces only) on process exit.
//
// Throws: `run` rejects with an Error carrying the command's stderr; `createNetns` rejects when
// `ip netns add` fails. Never touches the root namespace's links, addresses or routes.
// (A copy of the few lines of test/helpers/netns.ts the bench needs: test/ is not built into dist.)
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const NETNS_PREFIX = 'flt-bench-';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with `cmd args: stderr` when it fails or times out. */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, {
      timeout: opts.timeoutMs ?? 30_000,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    const detail = (e.stderr ?? '').trim() || e.message || String(err);
    throw new Error(`${cmd} ${args.join(' ')}: ${detail}`, { cause: err });
  }
}

/** True when `cmd` is on PATH. */
export function haveCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const namespaces = new Set<string>();
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** A temporary directory that cleanupAll()/cleanupAllSync() removes (unregister with `forgetTempDir`). */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  tempDirs.delete(dir);
}

function removeTempDirs(): void {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

export interface Netns {
  readonly name: string;
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  ip(...args: string[]): Promise<ExecResult>;
  /** Spawns a long-running command in the namespace (tracked: killed by cleanupAll). */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  del(): Promise<void>;
}

export async function createNetns(): Promise<Netns> {
  const name = `${NETNS_PREFIX}${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  namespaces.add(name);
  const ns: Netns = {
    name,
    exec: (cmd, args, opts) => run('ip', ['netns', 'exec', name, cmd, ...args], opts),
    ip: (...args) => run('ip', ['-n', name, ...args]),
    // `ip netns exec` execs the command, so the child's pid is the command's own pid.
    spawn: (cmd, args, opts) => spawnTracked('ip', ['netns', 'exec', name, cmd, ...args], opts),
    del: async () => {
      if (!namespaces.delete(name)) return;
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
    },
  };
  await ns.ip('link', 'set', 'lo', 'up');
  return ns;
}

/** A veth pair from nsA (ifA, addrA) to nsB (ifB, addrB), both up; created inside nsA. */
export async function createVethPair(
  nsA: Netns,
  ifA: string,
  addrA: string,
  nsB: Netns,
  ifB: string,
  addrB: string,
): Promise<void> {
  await nsA.ip('link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB.name);
  await nsA.ip('addr', 'add', addrA, 'dev', ifA);
  await nsB.ip('addr', 'add', addrB, 'dev', ifB);
  await nsA.ip('link', 'set', ifA, 'up');
  await nsB.ip('link', 'set', ifB, 'up');
}

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore', ...opts });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Kills every tracked child and deletes every namespace this process created. Never throws. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 3000).catch(() => undefined)));
  for (const name of [...namespaces]) {
    namespaces.delete(name);
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
  removeTempDirs();
}

/** Last resort on process exit: synchronous kill + namespace deletion. */
export function cleanupAllSync(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  for (const name of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // gone
    }
  }
  namespaces.clear();
  removeTempDirs();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
