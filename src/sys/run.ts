// Runs OS commands: the one place that starts ip(8), sysctl(8) and other tools, with an argument
// list (never a shell). run() and ip() reject with DeviceError whose one-line message names the
// command and quotes the first line of its stderr (a missing command says which package to
// install); runQuiet() never rejects and reports the exit code and output instead;
// spawnDetached() starts a long-running process with a log file, runInteractive() one on this
// terminal. netnsArgv() is how every caller runs a program inside a network namespace
// (`ip netns exec NS ...`).
// Platform code (Linux, iproute2).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { DeviceError } from '../util/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Killed after this long (default 20 s). */
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Packages that provide the commands we run, for the "missing" message. */
const PACKAGE_OF: Record<string, string> = { ip: 'iproute2', sysctl: 'procps', ping: 'iputils-ping', nft: 'nftables' };

function envOf(opts: RunOptions): NodeJS.ProcessEnv | undefined {
  return opts.env ? { ...process.env, ...opts.env } : undefined;
}

/** Runs a command; rejects with DeviceError when it cannot start or exits non-zero. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20, env: envOf(opts) },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout: String(stdout), stderr: String(stderr) });
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          const pkg = PACKAGE_OF[cmd];
          return reject(
            new DeviceError(`the \`${cmd}\` command is missing${pkg ? ` (install ${pkg})` : ''}`, { cause: err }),
          );
        }
        const first = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
        reject(new DeviceError(`${cmd} ${args.join(' ')}: ${first}`, { cause: err }));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs ip(8) and returns its stdout. */
export async function ip(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run('ip', args, opts)).stdout;
}

/** Runs several ip(8) commands in one process (`ip [-n NS] -batch -`); stops at the first failure. */
export async function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  await run('ip', args, { input: lines.join('\n') + '\n' });
}

/** The command line that runs `argv` inside network namespace `netns`. */
export function netnsArgv(netns: string, argv: readonly string[]): [string, ...string[]] {
  return ['ip', 'netns', 'exec', netns, ...argv];
}

export interface QuietResult {
  /** The exit code (1 when the command could not start or was killed). */
  code: number;
  /** stdout then stderr, trimmed. */
  out: string;
}

/** Runs a command and never rejects: for checks whose failure is an answer, not an error. */
export function runQuiet(argv: readonly string[], opts: RunOptions = {}): Promise<QuietResult> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20, env: envOf(opts) },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, out: `${String(stdout)}${String(stderr)}`.trim() });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * Starts a command detached (its own session: a Ctrl-C at the terminal does not reach it), stdout
 * and stderr appended to `logFile`; returns its pid. Throws DeviceError when it cannot start.
 */
export function spawnDetached(argv: readonly string[], logFile: string, env: Record<string, string> = {}): number {
  const [cmd, ...args] = argv;
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    if (child.pid === undefined) throw new DeviceError(`could not start ${argv.join(' ')}`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGPIPE: 13,
};

/**
 * Runs a command with this process's stdio; resolves with its exit status as a shell reports it
 * (128 + the signal number when a signal ended it). Rejects with DeviceError when it cannot start.
 */
export function runInteractive(argv: readonly string[], env: Record<string, string> = {}): Promise<number> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', (err) => reject(new DeviceError(`cannot run ${cmd}: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 1) : 1)));
  });
}

export interface CapturedRun {
  /** The exit code (128 + signal number when a signal ended it; runExit: 124 timeout, 127 cannot start). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command with `input` on stdin and returns its exit code, stdout and stderr apart (a CNI
 * plugin's error JSON is on stdout even when it fails). Never rejects for a non-zero exit; rejects
 * with DeviceError when the command cannot start.
 */
export function runCapture(argv: readonly string[], opts: RunOptions = {}): Promise<CapturedRun> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: envOf(opts) ?? process.env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new DeviceError(`cannot run ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 1) : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command and never rejects: its exit code and both outputs, kept apart. */
export function runExit(argv: readonly string[], opts: RunOptions = {}): Promise<CapturedRun> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20, env: envOf(opts) },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : e.killed ? 124 : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}
