// Runs this very command again inside another network namespace, for `flannelette node --netns`:
// `nsenter --net=<file> -- <node> <argv…>` with this process's stdio, in its own process group so a
// terminal's Ctrl-C reaches it once (through us). SIGINT, SIGTERM and SIGHUP sent to this process are
// passed on; the promise resolves with the child's exit status (128 + signal when a signal ended it).
// The whole child is in the namespace — every thread, the TUN device, its sockets, the `ip` it runs —
// which setns(2) on one thread of an already running Node.js cannot promise.
// Throws: ConfigError when the namespace does not exist; DeviceError when nsenter cannot start.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ConfigError, DeviceError } from '../util/errors.js';

/** Set in the child's environment to the namespace file it was started in. */
export const NETNS_ENTERED_ENV = 'FLANNELETTE_NETNS_ENTERED';

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/** The namespace file for `--netns`: a path as given, or /run/netns/NAME (`ip netns add NAME`). */
export function netnsFile(netns: string): string {
  const file = netns.includes('/') ? netns : `/run/netns/${netns}`;
  if (!netns.includes('/') && (!NETNS_NAME.test(netns) || netns === '.' || netns === '..'))
    throw new ConfigError(`--netns ${netns}: not a namespace name or a path`);
  if (!fs.existsSync(file))
    throw new ConfigError(
      netns.includes('/')
        ? `--netns ${netns}: no such file (a network namespace such as /proc/PID/ns/net or a bind mount)`
        : `--netns ${netns}: no network namespace of that name (${file} does not exist; ip netns add ${netns})`,
    );
  return file;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Runs `process.execPath` with `args` inside the namespace file; resolves with its exit status. */
export function reexecInNetns(file: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${file}`, '--', process.execPath, ...args], {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, [NETNS_ENTERED_ENV]: file },
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = SIGNALS.map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const done = (): void => {
      for (const [s, h] of handlers) process.off(s, h);
    };
    child.on('error', (err) => {
      done();
      reject(new DeviceError(`cannot run nsenter (util-linux): ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 1) : 1));
    });
  });
}
