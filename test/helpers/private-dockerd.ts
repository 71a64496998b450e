// A private Docker daemon for one test file: dockerd (Debian's docker.io) started inside a network
// namespace the test created (`nsenter --net=`; not `ip netns exec`, whose fresh /sys hides the
// cgroup mounts dockerd needs), with its own data root, exec root, socket and pid file in a new
// temporary directory, `--bridge=none --iptables=false --ip6tables=false`. Every bridge, veth and
// address a compose project creates then lives in that namespace, never in the root namespace;
// stop() ends the daemon (and its containerd), deletes the directory and the namespace.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNetns, type Netns } from './netns.js';
import { waitFor } from './live-lab.js';

export interface PrivateDockerd {
  netns: Netns;
  dir: string;
  /** `unix://<dir>/docker.sock`, for DOCKER_HOST. */
  host: string;
  /** process.env with DOCKER_HOST set to this daemon. */
  env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against this daemon. */
  docker(args: string[]): { code: number; out: string; err: string };
  stop(): Promise<void>;
}

export const haveDockerd = (): boolean => spawnSync('dockerd', ['--version']).status === 0;

export async function startPrivateDockerd(prefix: string): Promise<PrivateDockerd> {
  const netns = await createNetns(prefix);
  // short: unix socket paths (containerd's are under the exec root) are limited to 108 bytes
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-dockerd-'));
  const host = `unix://${dir}/docker.sock`;
  const env = { ...process.env, DOCKER_HOST: host };
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
  const daemon = spawn(
    'nsenter',
    [
      `--net=/run/netns/${netns.name}`,
      'dockerd',
      '--data-root',
      `${dir}/data`,
      '--exec-root',
      `${dir}/exec`,
      '-H',
      host,
      '--pidfile',
      `${dir}/docker.pid`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const docker = (args: string[]) => {
    const r = spawnSync('docker', args, { env, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
  };
  const stop = async (): Promise<void> => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      const killer = setTimeout(() => daemon.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    await netns.del();
  };
  try {
    await waitFor('the private dockerd to answer', () => docker(['version']).code === 0, 60_000);
  } catch (err) {
    const tail = fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-3).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`, { cause: err });
  }
  return { netns, dir, host, env, docker, stop };
}
