// Helpers for the live-lab tests: run the built CLI and /usr/bin/kubectl, poll for a condition with
// a deadline, find what a lab left behind (namespaces, processes carrying its FLT_LAB mark, its
// directory, mounts), and locate the tutorials' manifests (../shared/manifests beside the clone, or
// $FLANNELETTE_SHARED_MANIFESTS).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { missingCniPlugins } from '../../src/lab/cni-files.js';
import { requireOrSkip, requireRootOrSkip } from './root.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/flannelette.js');
export const KUBECTL = '/usr/bin/kubectl';
export const LAB_ROOT = process.env['FLANNELETTE_LAB_ROOT'] || '/run/flannelette/labs';

export interface Result {
  code: number;
  out: string;
  err: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, FORCE_COLOR: '0', ...opts.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, out, err });
    });
    child.stdin.on('error', () => undefined); // a child that exits first closes the pipe (EPIPE)
    child.stdin.end(opts.input ?? '');
  });
}

export function cli(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return run(process.execPath, [CLI, ...args], opts);
}

export function kubectlFor(kubeconfig: string) {
  return (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Result> =>
    run(KUBECTL, args, { ...opts, env: { KUBECONFIG: kubeconfig } });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastErr ? `: ${lastErr instanceof Error ? String(lastErr) : inspect(lastErr)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function labName(prefix: string): string {
  return `${prefix}${Math.random()
    .toString(36)
    .slice(2, 7)
    .replace(/[^a-z0-9]/g, 'x')}`;
}

export function netnsOf(lab: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`flt-${lab}-`));
}

export function processesOf(lab: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').includes(`FLT_LAB=${lab}`)) pids.push(Number(e));
    } catch {
      // gone
    }
  }
  return pids;
}

export function mountsOf(lab: string): string[] {
  const dir = path.join(LAB_ROOT, lab);
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir));
}

/** What a lab left behind; all empty after `lab down`. */
export function leftovers(lab: string): { netns: string[]; processes: number[]; dir: boolean; mounts: string[] } {
  return {
    netns: netnsOf(lab),
    processes: processesOf(lab),
    dir: fs.existsSync(path.join(LAB_ROOT, lab)),
    mounts: mountsOf(lab),
  };
}

export function sharedManifests(): string {
  const dir = process.env['FLANNELETTE_SHARED_MANIFESTS'] || path.resolve(ROOT, '../shared/manifests');
  if (!fs.existsSync(path.join(dir, 'seed-000-nginx-deployment.yaml'))) {
    throw new Error(
      `the tutorials' manifests are missing: expected ${dir}/seed-*.yaml (../shared beside the clone; or set FLANNELETTE_SHARED_MANIFESTS)`,
    );
  }
  return dir;
}

export function built(): boolean {
  return fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js'));
}

/** Rows of a kubectl-style table as records keyed by header. */
export function tableRows(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.trim());
  if (lines.length === 0) return [];
  const header = lines[0];
  const starts: number[] = [];
  const names: string[] = [];
  const re = /\S+( \S+)*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header))) {
    starts.push(m.index);
    names.push(m[0]);
  }
  return lines
    .slice(1)
    .map((l) => Object.fromEntries(names.map((n, i) => [n, l.slice(starts[i], starts[i + 1]).trim()])));
}

/**
 * Whether a live-lab test file skips (see root.ts: under CI it fails instead): it needs root, the built
 * CLI, /usr/bin/kubectl and, with `cni`, the CNI plugins. `what` names the file's subject in the reason.
 */
export function skipLiveLab(what: string, opts: { cni?: boolean } = {}): boolean {
  return (
    requireRootOrSkip(what) ||
    requireOrSkip(built(), `${what}: build first (npm run build)`) ||
    requireOrSkip(fs.existsSync(KUBECTL), `${what}: ${KUBECTL} is not installed`) ||
    (opts.cni === true &&
      requireOrSkip(
        missingCniPlugins().length === 0,
        `${what}: CNI plugins missing (apt-get install containernetworking-plugins)`,
      ))
  );
}

/** `lab up <example> --name <lab>` (a live lab) and a kubectl for it; throws with lab up's output on failure. */
export async function upLiveLab(example: string, lab: string): Promise<ReturnType<typeof kubectlFor>> {
  const up = await cli(['lab', 'up', path.join(ROOT, example), '--name', lab], { timeoutMs: 240_000 });
  if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
  const kc = await cli(['lab', 'kubeconfig', '--name', lab]);
  if (kc.code !== 0) throw new Error(`lab kubeconfig failed: ${kc.err}`);
  return kubectlFor(kc.out.trim());
}

/** Runs `cmd args` inside the network namespace `netns` (30 s at most). */
export const inNetns = (netns: string, cmd: string, ...args: string[]): Promise<Result> =>
  run('ip', ['netns', 'exec', netns, cmd, ...args], { timeoutMs: 30_000 });

/** The network namespace of pod `name` in a live lab (flt-<lab>-pod-<name>-…); throws naming those there are. */
export function podNetns(lab: string, name: string): string {
  const ns = netnsOf(lab).find((n) => n.startsWith(`flt-${lab}-pod-${name}-`));
  if (!ns) throw new Error(`no network namespace for pod ${name}: ${netnsOf(lab).join(' ')}`);
  return ns;
}
