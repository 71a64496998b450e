// A throwaway single-member etcd for integration tests: listens on 127.0.0.1 only, on free client
// and peer ports, with a temporary data dir that stop() removes. restart() stops the process and
// starts it again on the same ports and data (leases and keys survive). Needs no root.
// requireEtcdOrSkip() tells a suite whether to run: without the etcd binary it warns and skips,
// except under CI (process.env.CI set), where the missing binary is an error.
// startEtcd({ netns, host }) runs etcd (and etcdctl, and the health probe) inside a network namespace
// instead, listening on `host` (an address the caller put in that namespace), ports 2379/2380 by
// default (the namespace is the caller's own, so they are free); that needs root.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestEtcd {
  endpoint: string;
  /** Runs etcdctl (API v3) against this etcd; returns stdout; throws on a non-zero exit. */
  etcdctl(...args: string[]): string;
  /** Kills etcd (SIGTERM, then SIGKILL) and keeps the data dir. */
  pause(): Promise<void>;
  /** Starts etcd again after pause(). */
  resume(): Promise<void>;
  /** pause() then resume() after `downMs`. */
  restart(downMs?: number): Promise<void>;
  /** Stops etcd and removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export const etcdAvailable = hasBinary('etcd') && hasBinary('etcdctl');

/** True when the suite should run; otherwise prints why it is skipped (and throws under CI). */
export function requireEtcdOrSkip(suite: string): boolean {
  if (etcdAvailable) return true;
  const why = `${suite}: etcd/etcdctl not installed (Debian: apt-get install etcd-server etcd-client)`;
  if (process.env.CI) throw new Error(`${why}; CI must run etcd tests`);
  console.warn(`SKIPPED ${why}`);
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True when etcd answers /health; inside a namespace, asked with etcdctl run there. */
async function probeHealth(endpoint: string, netns: string | undefined): Promise<boolean> {
  if (netns) {
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', netns, 'etcdctl', '--endpoints', endpoint, '--command-timeout', '1s', 'endpoint', 'health'],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 5000 },
        (err) => resolve(!err),
      );
    });
  }
  try {
    const res = await fetch(`${endpoint}/health`);
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false; // not up yet
  }
}

async function waitHealthy(
  endpoint: string,
  proc: ChildProcess,
  timeoutMs: number,
  log: () => string,
  netns?: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}: ${log()}`);
    if (await probeHealth(endpoint, netns)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms: ${log()}`);
}

export interface StartEtcdOptions {
  /** Run etcd, etcdctl and the health probe inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Address to listen on (default 127.0.0.1); with netns, an address of that namespace. */
  host?: string;
  /** Ports (default: free loopback ports; with netns, 2379 and 2380). */
  clientPort?: number;
  peerPort?: number;
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<TestEtcd> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-etcd-'));
  const host = opts.host ?? '127.0.0.1';
  const clientPort = opts.clientPort ?? (opts.netns ? 2379 : await freePort());
  const peerPort = opts.peerPort ?? (opts.netns ? 2380 : await freePort());
  const endpoint = `http://${host}:${clientPort}`;
  const peerUrl = `http://${host}:${peerPort}`;
  const inNs = (cmd: string, cmdArgs: string[]): [string, string[]] =>
    opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...cmdArgs]] : [cmd, cmdArgs];
  const args = [
    '--name',
    'flt-test',
    '--data-dir',
    path.join(dataDir, 'data'),
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `flt-test=${peerUrl}`,
    '--initial-cluster-state',
    'new',
    '--log-level',
    'warn',
  ];
  let proc: ChildProcess | undefined;
  let output = '';
  let removed = false;

  const launch = async (): Promise<void> => {
    output = '';
    const [bin, binArgs] = inNs('etcd', args);
    const p = spawn(bin, binArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    proc = p;
    await waitHealthy(endpoint, p, 20_000, () => output, opts.netns);
  };

  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();

  return {
    endpoint,
    etcdctl(...cmd: string[]): string {
      const [bin, binArgs] = inNs('etcdctl', ['--endpoints', endpoint, ...cmd]);
      const r = spawnSync(bin, binArgs, { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`etcdctl ${cmd.join(' ')} failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    },
    pause: kill,
    resume: launch,
    async restart(downMs = 0) {
      await kill();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await kill();
      if (!removed) {
        removed = true;
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface TcpProxy {
  endpoint: string;
  /** Closes the listener and cuts every open connection (the client sees etcd vanish). */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of `target` (http://127.0.0.1:port), to cut one client off etcd. */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const targetUrl = new URL(target);
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const srv = net.createServer((client) => {
        const upstream = net.connect(Number(targetUrl.port), targetUrl.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
      server = srv;
    });
  const cut = async (): Promise<void> => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };
  await listen();
  return { endpoint: `http://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}
