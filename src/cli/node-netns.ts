// `flannelette node --netns NAME|PATH`: the agent runs inside that network namespace — a name made
// by `ip netns add`, or any namespace file (/proc/PID/ns/net of a process in it, a bind mount made
// by podman, systemd-nspawn or `unshare --net=FILE`). This process starts the same command again
// under `nsenter --net=` (sys/netns-reexec.ts), passes signals on, and exits with the agent's status.
// The flag may come from the command line, FLANNELD_NETNS or --config; inside, it is a no-op.
// Throws ConfigError (exit 2) for a namespace that does not exist, before anything starts.
import { NETNS_ENTERED_ENV, netnsFile, reexecInNetns } from '../sys/netns-reexec.js';

/** With --netns (and not already inside): runs the agent there and exits with its status; else false. */
export async function runInNetnsIfAsked(netns: unknown): Promise<boolean> {
  if (typeof netns !== 'string' || process.env[NETNS_ENTERED_ENV]) return false;
  const file = netnsFile(netns);
  const status = await reexecInNetns(file, [...process.execArgv, ...process.argv.slice(1)]);
  process.exit(status);
}
