// `kubectl exec` at the kubelet: one command inside a running container, streamed over a WebSocket with
// the channel protocol v5.channel.k8s.io / v4.channel.k8s.io: every message's first byte is the channel —
// 0 stdin, 1 stdout, 2 stderr, 3 error (a meta/v1 Status when the command ends: Success, or Failure with
// reason NonZeroExitCode and the exit code in details.causes), 4 resize ({"Width","Height"}), and in v5
// 255 close (payload: the channel whose sending side is done). With tty the command runs on a pty
// (node-pty) and stderr is merged into stdout, as with a terminal. runExecSession never throws: failures
// end the session with a Failure Status.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { WebSocket } from 'ws';
import type { Status } from '../k8s/types.js';
import { execArgv } from './containers.js';
import { dockerClientEnv, dockerExecArgv } from './docker-runtime.js';

export interface ExecRequest {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function parseExecQuery(q: URLSearchParams): ExecRequest {
  const flag = (...keys: string[]): boolean => keys.some((k) => q.get(k) === '1' || q.get(k) === 'true');
  return {
    command: q.getAll('command'),
    stdin: flag('input', 'stdin'),
    stdout: flag('output', 'stdout'),
    stderr: flag('error', 'stderr'),
    tty: flag('tty'),
  };
}

export function exitStatus(code: number, command: readonly string[]): Status {
  if (code === 0) return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Success', code: 0 };
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    code: 500,
    message:
      'command terminated with non-zero exit code: error executing command ' +
      `[${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

export function failureStatus(message: string): Status {
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'InternalError',
    code: 500,
  };
}

type Pty = typeof import('node-pty');
let ptyModule: Pty | undefined | null;
function loadPty(): Pty | undefined {
  if (ptyModule === undefined) {
    try {
      ptyModule = createRequire(import.meta.url)('node-pty') as Pty;
    } catch {
      ptyModule = null;
    }
  }
  return ptyModule ?? undefined;
}

const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function runExecSession(
  ws: WebSocket,
  req: ExecRequest,
  target: { pid: number; env: Record<string, string>; docker?: string },
): Promise<number> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const send = (ch: number, data: Buffer | string): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([ch]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
  };
  const finish = (status: Status, code: number): number => {
    send(CH.error, JSON.stringify(status));
    if (ws.readyState === ws.OPEN) ws.close(1000);
    return code;
  };
  if (req.command.length === 0) {
    return Promise.resolve(finish(failureStatus('you must specify at least one command for the container'), 1));
  }
  const argv = target.docker
    ? dockerExecArgv(target.docker, req.command, req.stdin, req.tty)
    : execArgv(target.pid, req.command);
  // `docker exec` needs the kubelet's DOCKER_HOST; the container's own environment is Docker's
  const base = target.docker ? { ...target.env, ...dockerClientEnv(process.env) } : target.env;
  const env = req.tty ? { ...base, TERM: base['TERM'] ?? 'xterm' } : base;
  return new Promise((resolve) => {
    let write: (data: Buffer) => void = () => undefined;
    let endInput: () => void = () => undefined;
    let resize: (w: number, h: number) => void = () => undefined;
    const done = (code: number): void => resolve(finish(exitStatus(code, req.command), code));
    if (req.tty) {
      const pty = loadPty();
      if (!pty) return resolve(finish(failureStatus('this kubelet has no pty support (node-pty is not built)'), 1));
      const term = pty.spawn(argv[0], argv.slice(1), { name: env['TERM'] ?? 'xterm', cols: 80, rows: 24, env });
      term.onData((d) => send(CH.stdout, d));
      term.onExit(({ exitCode }) => setTimeout(() => done(exitCode), 20));
      write = (d) => term.write(d.toString('utf8'));
      endInput = () => term.write('\x04');
      resize = (w, h) => term.resize(Math.max(1, w), Math.max(1, h));
      ws.on('close', () => term.kill('SIGHUP'));
    } else {
      const child = spawn(argv[0], argv.slice(1), { env, stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      let pending = 2;
      let exitCode: number | undefined;
      const maybeDone = (): void => {
        if (pending === 0 && exitCode !== undefined) done(exitCode);
      };
      child.stdout!.on('data', (d: Buffer) => req.stdout && send(CH.stdout, d));
      child.stderr!.on('data', (d: Buffer) => req.stderr && send(CH.stderr, d));
      for (const s of [child.stdout!, child.stderr!])
        s.on('close', () => {
          pending--;
          maybeDone();
        });
      child.on('error', (err) => resolve(finish(failureStatus(`cannot run the command: ${err.message}`), 1)));
      child.on('exit', (code, signal) => {
        exitCode = code ?? (signal === 'SIGKILL' ? 137 : 128 + 15);
        maybeDone();
      });
      child.stdin?.on('error', () => undefined);
      write = (d) => child.stdin?.write(d);
      endInput = () => child.stdin?.end();
      ws.on('close', () => child.kill('SIGKILL'));
    }
    ws.on('message', (raw: Buffer) => {
      const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (data.length === 0) return;
      const ch = data[0];
      const payload = data.subarray(1);
      if (ch === CH.stdin && req.stdin) write(payload);
      else if (ch === CH.resize) {
        try {
          const { Width, Height } = JSON.parse(payload.toString('utf8')) as { Width: number; Height: number };
          resize(Width, Height);
        } catch {
          // a malformed resize: ignored
        }
      } else if (v5 && ch === CH.close && payload[0] === CH.stdin) endInput();
    });
  });
}
