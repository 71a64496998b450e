// Processes of a lab: start a program detached inside a network namespace (its own session, so a
// Ctrl-C at the terminal does not reach it; stdout+stderr appended to a log file), and stop every
// process in a set of namespaces (SIGTERM, a grace period, then SIGKILL).
// spawnInNetns throws DeviceError if the process cannot be started. Platform code (Linux).
import { pidAlive } from '../sys/proc.js';
import { netnsArgv, spawnDetached } from '../sys/run.js';
import { sleep } from '../util/clock.js';
import { netnsPids } from './sys.js';

export { pidAlive };

export function spawnInNetns(
  netns: string,
  argv: readonly string[],
  logFile: string,
  env: Record<string, string> = {},
): number {
  return spawnDetached(netnsArgv(netns, argv), logFile, env);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops every process inside the given namespaces: SIGTERM (node agents then remove their TUN
 * devices and routes), wait up to `graceMs`, SIGKILL. Returns how many were stopped and killed.
 */
export async function stopProcessesIn(
  netnsList: readonly string[],
  graceMs = 3000,
): Promise<{ stopped: number; killed: number }> {
  const pids = new Set<number>();
  for (const ns of netnsList) for (const pid of await netnsPids(ns)) if (pid !== process.pid) pids.add(pid);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [...pids].some(pidAlive)) await sleep(50);
  let killed = 0;
  for (const pid of pids) {
    if (pidAlive(pid)) {
      signal(pid, 'SIGKILL');
      killed++;
    }
  }
  if (killed > 0) {
    const until = Date.now() + 2000;
    while (Date.now() < until && [...pids].some(pidAlive)) await sleep(20);
  }
  return { stopped: pids.size, killed };
}
