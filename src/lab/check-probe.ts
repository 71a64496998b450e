// lab check's probes, per source pod instead of per pair: from each source's network namespace one
// `fping` process pings every target (ICMP echo, one retry, ~2 s per target that does not answer), and
// a TCP prober thread (check-worker.ts, a small pool of worker_threads Workers that enter the source's
// namespace with setns) opens a connection to every target. At 100 nodes that is 100 short processes
// instead of ~40,000 (`ping` and `bash /dev/tcp` per pair). At most `sourceConcurrency` sources are
// probed at once. Results keep the targets' order: ping[i], tcp[i] for targets[i]. Every probe that failed
// is tried once more after the first pass, with longer waits (3 s ICMP + one retry, 6 s TCP) and fewer
// sources at once: on a loaded machine (100 nodes' agents on 2 cores) an answer can take longer than the
// first pass waits, which is a slow path, not a broken one; a path that is broken fails both passes and is
// reported. `recovered` counts the probes that passed only the second time.
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
  /** The second pass over the failed probes (default { pingTimeoutMs: 3000, tcpTimeoutMs: 6000 }); false: none. */
  recheck?: { pingTimeoutMs: number; tcpTimeoutMs: number } | false;
}

/** The probes (ICMP and TCP both) that failed the first pass and passed the second. */
export interface ProbeResults extends Array<ProbeResult> {
  recovered?: number;
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

interface Pass {
  pingMs: number;
  tcpMs: number;
  sourceConcurrency: number;
}

async function probePass(
  sources: readonly ProbeSource[],
  pool: TcpPool,
  pass: Pass,
  tcpConcurrency: number,
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array<ProbeResult>(sources.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(pass.sourceConcurrency, sources.length) }, async () => {
    while (next < sources.length) {
      const i = next++;
      const s = sources[i];
      if (s.targets.length === 0) {
        results[i] = { ping: [], tcp: [] };
        continue;
      }
      const [alive, tcp] = await Promise.all([
        ping(
          s.netns,
          s.targets.map((t) => t.ip),
          pass.pingMs,
        ),
        pool.run({ netns: s.netns, targets: s.targets, timeoutMs: pass.tcpMs, concurrency: tcpConcurrency }),
      ]);
      results[i] = { ping: s.targets.map((t) => alive.has(t.ip)), tcp };
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Probes every source's targets (ICMP and TCP); one result per source, in order. */
export async function probeSources(sources: readonly ProbeSource[], o: ProbeOptions = {}): Promise<ProbeResults> {
  if (sources.length === 0) return [];
  await requireFping();
  const pool = new TcpPool(Math.max(1, Math.min(o.workers ?? 2, sources.length)));
  const concurrency = o.sourceConcurrency ?? 4;
  const tcpConcurrency = o.tcpConcurrency ?? 64;
  try {
    const first: ProbeResults = await probePass(
      sources,
      pool,
      { pingMs: o.pingTimeoutMs ?? 1000, tcpMs: o.tcpTimeoutMs ?? 3000, sourceConcurrency: concurrency },
      tcpConcurrency,
    );
    const recheck = o.recheck ?? { pingTimeoutMs: 3000, tcpTimeoutMs: 6000 };
    if (recheck === false) return first;
    // the second pass: each source's targets with a failed probe (either kind), both probes again
    const again = first.map((r) => r.ping.flatMap((p, k) => (p && r.tcp[k] ? [] : [k])));
    const second = await probePass(
      sources.map((s, i) => ({ netns: s.netns, targets: again[i].map((k) => s.targets[k]) })),
      pool,
      { pingMs: recheck.pingTimeoutMs, tcpMs: recheck.tcpTimeoutMs, sourceConcurrency: Math.max(1, concurrency >> 1) },
      tcpConcurrency,
    );
    let recovered = 0;
    again.forEach((ks, i) =>
      ks.forEach((k, n) => {
        for (const kind of ['ping', 'tcp'] as const) {
          if (!first[i][kind][k] && second[i][kind][n]) {
            first[i][kind][k] = true;
            recovered++;
          }
        }
      }),
    );
    first.recovered = recovered;
    return first;
  } finally {
    await pool.close();
  }
}
