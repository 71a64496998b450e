// Where the lab finds its own executables, and how it starts and waits for node agents:
// - the package root (sys/package-root.ts);
// - the built-in container programs' entry, dist/src/lab/container-main.js;
// - the node agent, `node <root>/bin/flannelette.js node ...` (built by `npm install`);
// - readiness: poll `ping` on each agent's control socket.
// waitForAgent throws DeviceError (naming the node's log file) when an agent never answers.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../sys/package-root.js';
import { sleep } from '../util/clock.js';
import { DeviceError } from '../util/errors.js';
import { rpcCall } from '../util/rpc.js';
import type { CapturePoint } from './topology.js';

/** The command prefix that runs a built-in container program: `[node, container-main.js]`. */
export function programCommand(root = packageRoot()): string[] {
  const entry = path.join(root, 'dist', 'src', 'lab', 'container-main.js');
  if (!fs.existsSync(entry)) throw new DeviceError(`${entry} is missing: build flannelette first (npm run build)`);
  return [process.execPath, entry];
}

export function agentCommand(root = packageRoot()): string[] {
  return [process.execPath, path.join(root, 'bin', 'flannelette.js'), 'node'];
}

export interface AgentArgs {
  clusterFile: string;
  node: string;
  stateDir: string;
  capture: CapturePoint[];
  pcapDir?: string;
  logLevel?: string;
  /** Where the agent writes flannel's subnet.env (read by the flannel CNI plugin). */
  subnetFile?: string;
  /** flanneld's --ip-masq. */
  ipMasq?: boolean;
}

export function agentArgs(a: AgentArgs): string[] {
  const args = [
    '--cluster',
    a.clusterFile,
    '--name',
    a.node,
    '--state-dir',
    a.stateDir,
    '--log-level',
    a.logLevel ?? 'info',
  ];
  if (a.ipMasq) args.push('--ip-masq');
  if (a.capture.length > 0 && a.pcapDir) args.push('--capture', a.capture.join(','), '--pcap-dir', a.pcapDir);
  if (a.subnetFile) args.push('--subnet-file', a.subnetFile);
  return args;
}

/** Polls `ping` on the agent's socket until it answers; `isAlive` lets a crashed agent fail fast. */
export async function waitForAgent(
  node: string,
  socket: string,
  logFile: string,
  isAlive: () => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      // no socket file yet: nothing to ask (an RPC per node every 100 ms costs the CLI a core at 100 nodes)
      if (!fs.existsSync(socket)) throw new Error(`no node is listening on ${socket} yet`);
      const reply = (await rpcCall(socket, 'ping', {}, { timeoutMs: 1000 })) as { ok?: boolean } | null;
      if (reply && reply.ok) return;
      last = `unexpected ping reply ${JSON.stringify(reply)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (!isAlive()) throw new DeviceError(`node agent ${node} exited during start-up; see ${logFile}`);
    await sleep(100);
  }
  throw new DeviceError(
    `node agent ${node} did not answer on ${socket} within ${timeoutMs / 1000}s (${last}); see ${logFile}`,
  );
}
