// The container shim (like containerd-shim or conmon): `node shim-main.js ATTEMPT_DIR`, started detached
// by the kubelet so that it and its container outlive the kubelet. It reads ATTEMPT_DIR/spec.json
// ({ argv, env }), starts the container process in its own process group (the kubelet signals that
// group), appends its stdout/stderr to ATTEMPT_DIR/container.log as CRI lines, writes
// ATTEMPT_DIR/state.json ({ shimPid, pid, startedAt }) once started and ATTEMPT_DIR/exit.json
// ({ exitCode, signal, finishedAt }) when it exits, then exits itself. It ignores SIGTERM/SIGINT/SIGHUP
// so that only the container decides. When the main process exits, the rest of its process group is
// killed (as with a pid namespace's init). A spec it cannot read: exit.json with exitCode 128 and a message.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LineWriter } from './cri-log.js';

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => undefined);

const dir = process.argv[2] ?? '';
const exitFile = path.join(dir, 'exit.json');
const writeJson = (file: string, value: unknown): void => {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
};

let spec: { argv: string[]; env: Record<string, string> };
try {
  spec = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8')) as typeof spec;
} catch (err) {
  writeJson(exitFile, {
    exitCode: 128,
    message: `shim: cannot read spec: ${(err as Error).message}`,
    finishedAt: new Date().toISOString(),
  });
  process.exit(1);
}

const logFd = fs.openSync(path.join(dir, 'container.log'), 'a');
const emit = (line: string): void => {
  fs.writeSync(logFd, line);
};
// Real pipes (FIFOs), not the socket pairs Node would use: programs open /dev/stdout (nginx's
// access_log), which fails with ENXIO on a socket.
function fifo(name: string): { read: net.Socket; writeFd: number } {
  const file = path.join(dir, name);
  fs.rmSync(file, { force: true });
  execFileSync('mkfifo', ['-m', '600', file]);
  const readFd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writeFd = fs.openSync(file, fs.constants.O_WRONLY);
  fs.rmSync(file, { force: true });
  return { read: new net.Socket({ fd: readFd, readable: true, writable: false }), writeFd };
}
const stdout = fifo('stdout.fifo');
const stderr = fifo('stderr.fifo');
const child = spawn(spec.argv[0], spec.argv.slice(1), {
  detached: true,
  stdio: ['ignore', stdout.writeFd, stderr.writeFd],
  env: spec.env,
});
fs.closeSync(stdout.writeFd);
fs.closeSync(stderr.writeFd);
const startedAt = new Date().toISOString();
let spawnError: string | undefined;
child.on('error', (err) => {
  spawnError = err.message;
  exited = { code: 127, signal: null };
  if (closed) finish(127, null);
});
if (child.pid !== undefined)
  writeJson(path.join(dir, 'state.json'), { shimPid: process.pid, pid: child.pid, startedAt });
const out = new LineWriter('stdout', emit);
const errw = new LineWriter('stderr', emit);
let open = 2;
for (const [sock, w] of [
  [stdout.read, out],
  [stderr.read, errw],
] as const) {
  sock.setEncoding('utf8').on('data', (c: string) => w.write(c));
  sock.on('error', () => undefined);
  sock.on('close', () => {
    if (--open === 0) streamsClosed();
  });
}
let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
let closed = false;
function streamsClosed(): void {
  closed = true;
  if (exited) finish(exited.code, exited.signal);
}
// As when a pid namespace's init dies: the rest of the container's process group goes with it.
child.on('exit', (code, signal) => {
  exited = { code, signal };
  if (closed) finish(code, signal);
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // nothing left
  }
});
function finish(code: number | null, signal: NodeJS.Signals | null): void {
  out.end();
  errw.end();
  const signum = signal ? os.constants.signals[signal] : undefined;
  const exitCode = code ?? (signum !== undefined ? 128 + signum : 128);
  writeJson(exitFile, {
    exitCode,
    signal: signum,
    startedAt,
    finishedAt: new Date().toISOString(),
    ...(spawnError ? { message: spawnError } : {}),
  });
  fs.closeSync(logFd);
  process.exit(0);
}
