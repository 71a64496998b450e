// lab check's probes, per source pod instead of per pair: from each source's network namespace one
// `fping` process pings every target (ICMP echo, one retry, ~2 s per target that does not answer), and
// a TCP prober thread (check-worker.ts, a small pool of worker_threads Workers that enter the source's
// namespace with setns) opens a connection to every target. At 100 nodes that is 100 short processes
// instead of ~40,000 (`ping` and `bash /dev/tcp` per pair). At most `sourceConcurrency` sources are
// probed at once. Results keep the targets' order: ping[i], tcp[i] for targets[i].
// Throws DeviceError when fping is missing (once, before any probe) or a worker cannot start; a probe
// that fails (namespace gone, tool error) counts as unreachable, it never throws.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DeviceError } from '../util/errors.js';
import { packageRoot } from '../sys/package-root.js';
import { netnsArgv, runCapture } from '../sys/run.js';
import type { TcpAnswer, TcpJob } from './check-worker.js';

export interface ProbeTarget {
  ip: string;
  port: number;
}

export interface ProbeSource {
  netns: string;
  targets: ProbeTarget[];
}

export interface ProbeResult {
  ping: boolean[];
  tcp: boolean[];
}

export interface ProbeOptions {
  /** Sources probed at once (default 4). */
  sourceConcurrency?: number;
  /** TCP prober threads (default 2: the machine's other work needs the rest). */
  workers?: number;
  /** Connections a prober opens at once from one source (default 64). */
  tcpConcurrency?: number;
  /** Per connection (default 3000 ms, as `timeout 3` before). */
  tcpTimeoutMs?: number;
  /** First ICMP wait per target; one retry waits as long again (default 1000 ms). */
  pingTimeoutMs?: number;
}

/** The alive addresses `fping -a` printed on stdout (one address a line). */
export function parseFpingAlive(stdout: string): Set<string> {
  return new Set(
    stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-fA-F.:]+$/.test(l)),
  );
}

async function requireFping(): Promise<void> {
  try {
    await runCapture(['fping', '-v'], { timeoutMs: 5000 });
  } catch {
    throw new DeviceError('lab check needs the `fping` command (install fping)');
  }
}

async function ping(netns: string, ips: readonly string[], timeoutMs: number): Promise<Set<string>> {
  if (ips.length === 0) return new Set();
  const argv = ['fping', '-a', '-q', '-r', '1', '-B', '1', '-t', String(timeoutMs), '-i', '1', ...new Set(ips)];
  try {
    const r = await runCapture(netnsArgv(netns, argv), { timeoutMs: 2 * timeoutMs + 10_000 + 5 * ips.length });
    return parseFpingAlive(r.stdout);
  } catch {
    return new Set();
  }
}

class TcpPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly all: Worker[] = [];
  private nextId = 1;

  constructor(size: number) {
    const file = path.join(packageRoot(), 'dist', 'src', 'lab', 'check-worker.js');
    for (let i = 0; i < size; i++) {
      const w = new Worker(file);
      w.unref();
      this.all.push(w);
      this.idle.push(w);
    }
  }

  private take(): Promise<Worker> {
    const w = this.idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  async run(job: Omit<TcpJob, 'id'>): Promise<boolean[]> {
    const w = await this.take();
    const id = this.nextId++;
    try {
      return await new Promise<boolean[]>((resolve, reject) => {
        const onMessage = (a: TcpAnswer): void => {
          if (a.id !== id) return;
          off();
          resolve('ok' in a ? a.ok : job.targets.map(() => false));
        };
        const onError = (err: Error): void => {
          off();
          reject(new DeviceError(`lab check's TCP prober failed: ${err.message}`, { cause: err }));
        };
        const off = (): void => {
          w.off('message', onMessage);
          w.off('error', onError);
        };
        w.on('message', onMessage);
        w.on('error', onError);
        w.postMessage({ ...job, id } satisfies TcpJob);
      });
    } finally {
      this.give(w);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

/** Probes every source's targets (ICMP and TCP); one result per source, in order. */
export async function probeSources(sources: readonly ProbeSource[], o: ProbeOptions = {}): Promise<ProbeResult[]> {
  if (sources.length === 0) return [];
  await requireFping();
  const pool = new TcpPool(Math.max(1, Math.min(o.workers ?? 2, sources.length)));
  const pingMs = o.pingTimeoutMs ?? 1000;
  const results: ProbeResult[] = new Array<ProbeResult>(sources.length);
  let next = 0;
  try {
    const lanes = Array.from({ length: Math.min(o.sourceConcurrency ?? 4, sources.length) }, async () => {
      while (next < sources.length) {
        const i = next++;
        const s = sources[i];
        const [alive, tcp] = await Promise.all([
          ping(
            s.netns,
            s.targets.map((t) => t.ip),
            pingMs,
          ),
          pool.run({
            netns: s.netns,
            targets: s.targets,
            timeoutMs: o.tcpTimeoutMs ?? 3000,
            concurrency: o.tcpConcurrency ?? 64,
          }),
        ]);
        results[i] = { ping: s.targets.map((t) => alive.has(t.ip)), tcp };
      }
    });
    await Promise.all(lanes);
  } finally {
    await pool.close();
  }
  return results;
}
