// Removes a lab completely, whatever state its parts are in (also after kill -9 of any of them):
// stops the supervisor (it stops its children), then every process that carries the lab's
// FLT_LAB environment mark in any namespace (control plane, kubelets, container shims, strays),
// unmounts anything mounted under the lab directory, then labDown removes the namespaces (and the
// processes still inside them), veths and the directory. Never kills the calling process or its
// ancestors. Throws what labDown throws.
import fs from 'node:fs';
import { LAB_ENV } from './env.js';
import { labDown, type LabDownResult } from './lab.js';
import { livePaths } from './live-paths.js';
import { pidAlive } from './procs.js';
import type { Progress } from './progress.js';
import { labRoot } from './state.js';
import { run } from '../sys/run.js';
import { sleep } from './wait.js';
import { LAB_LABEL, removeDockerContainers } from '../kubelet/docker-runtime.js';
import { labPrefix } from './names.js';
import { releaseAttachedNamespaces } from './attached-netns.js';

function ancestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  let pid = process.pid;
  for (let i = 0; i < 64 && pid > 1; i++) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.replace(/^.*\)\s+\S+\s+/, '').split(' ')[0]);
      out.add(pid);
    } catch {
      break;
    }
  }
  return out;
}

/** Pids of live processes whose environment has FLT_LAB=<lab>. */
export function labProcesses(lab: string): number[] {
  const mark = `${LAB_ENV}=${lab}`;
  const skip = ancestors();
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (skip.has(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(mark)) pids.push(pid);
    } catch {
      // gone or not readable
    }
  }
  return pids;
}

async function terminate(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(pidAlive)) await sleep(50);
  for (const pid of pids.filter(pidAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const until = Date.now() + 2000;
  while (Date.now() < until && pids.some(pidAlive)) await sleep(20);
}

/** Mount points under `dir` in this mount namespace, deepest first. */
function mountsUnder(dir: string): string[] {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m === dir || m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

export async function teardownLab(
  lab: string,
  opts: { root?: string; progress?: Progress } = {},
): Promise<LabDownResult> {
  const root = opts.root ?? labRoot();
  const lp = livePaths(lab, root);
  let supervisor: number | undefined;
  try {
    supervisor = Number(fs.readFileSync(lp.supervisorPid, 'utf8').trim()) || undefined;
  } catch {
    // none
  }
  if (supervisor !== undefined && pidAlive(supervisor)) await terminate([supervisor], 8000);
  const strays = labProcesses(lab);
  if (strays.length > 0) await terminate(strays, 3000);
  for (const m of mountsUnder(lp.dir)) await run('umount', ['-l', m]).catch(() => undefined);
  await removeDockerContainers(LAB_LABEL, labPrefix(lab)); // Docker pods' containers (kubelet/docker-runtime.ts)
  await releaseAttachedNamespaces(lp.dir); // attached pods' namespaces are the user's: never killed or deleted
  const r = await labDown(lab, { root, progress: opts.progress });
  return { ...r, processes: r.processes + strays.length + (supervisor ? 1 : 0) };
}
