// lab check's TCP prober, run as a worker_threads Worker (check-probe.ts starts a few): for each job
// {id, netns, targets, timeoutMs, concurrency} it moves its thread into the source pod's network
// namespace (sys/netns-thread.ts), opens one TCP connection to every target (at most `concurrency` at
// once), and answers {id, ok} with one boolean per target: true when the connection opened or was
// refused (a RST came back: the path works both ways), false on a timeout or an ICMP error (host or
// network unreachable). Then it leaves the namespace. One job at a time. A job it cannot run (no such
// namespace) is answered {id, error}. Never throws out of a job.
import net from 'node:net';
import { parentPort } from 'node:worker_threads';
import { enterNetnsThread } from '../sys/netns-thread.js';

export interface TcpJob {
  id: number;
  netns: string;
  targets: { ip: string; port: number }[];
  timeoutMs: number;
  concurrency: number;
}

export type TcpAnswer = { id: number; ok: boolean[] } | { id: number; error: string };

function connectOnce(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

async function runJob(job: TcpJob): Promise<TcpAnswer> {
  let leave: () => void;
  try {
    leave = enterNetnsThread(job.netns);
  } catch (err) {
    return { id: job.id, error: (err as Error).message };
  }
  try {
    const ok: boolean[] = new Array<boolean>(job.targets.length).fill(false);
    let next = 0;
    const lanes = Array.from({ length: Math.max(1, Math.min(job.concurrency, job.targets.length)) }, async () => {
      while (next < job.targets.length) {
        const i = next++;
        ok[i] = await connectOnce(job.targets[i].ip, job.targets[i].port, job.timeoutMs);
      }
    });
    await Promise.all(lanes);
    return { id: job.id, ok };
  } finally {
    leave();
  }
}

parentPort?.on('message', (job: TcpJob) => {
  void runJob(job).then((a) => parentPort?.postMessage(a));
});
