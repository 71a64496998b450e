// Where a lab keeps its state: one directory per lab (default /run/flannelette/labs/<lab>/, or
// $FLANNELETTE_LAB_ROOT/<lab>/) holding a copy of the topology, the generated cluster file,
// state.json (the resolved topology, start time, process ids), the node agents' control sockets
// under run/, and every process's output under logs/.
// readState returns undefined when there is no (readable) state; writes are atomic (rename).
import fs from 'node:fs';
import path from 'node:path';
import type { LabTopology } from './topology.js';

export const DEFAULT_LAB_ROOT = '/run/flannelette/labs';

export function labRoot(): string {
  return process.env['FLANNELETTE_LAB_ROOT'] || DEFAULT_LAB_ROOT;
}

export interface LabPaths {
  dir: string;
  topology: string;
  cluster: string;
  state: string;
  runDir: string;
  logDir: string;
}

export function labPaths(lab: string, root = labRoot()): LabPaths {
  const dir = path.join(root, lab);
  return {
    dir,
    topology: path.join(dir, 'topology.yaml'),
    cluster: path.join(dir, 'cluster.yaml'),
    state: path.join(dir, 'state.json'),
    runDir: path.join(dir, 'run'),
    logDir: path.join(dir, 'logs'),
  };
}

export function nodeLogFile(p: LabPaths, node: string): string {
  return path.join(p.logDir, `${node}.log`);
}

export function containerLogFile(p: LabPaths, pod: string, container: string): string {
  return path.join(p.logDir, `${pod}_${container}.log`);
}

export function readyFile(p: LabPaths, pod: string, container: string): string {
  return path.join(p.runDir, `${pod}_${container}.ready`);
}

export function controlSocket(p: LabPaths, node: string): string {
  return path.join(p.runDir, `${node}.sock`);
}

export interface LabState {
  version: 1;
  topology: LabTopology;
  /** Unix milliseconds when `lab up` started. */
  createdAt: number;
  /** 'starting' while `lab up` runs, 'running' once everything is up. */
  phase: 'starting' | 'running';
  /** Whether node agents were started (false with --no-agent or when the agent is not built). */
  agents: boolean;
  pcapDir?: string;
  nodePids: Record<string, number>;
  /** Keyed `<pod>/<container>`. */
  containerPids: Record<string, number>;
  /** A live lab (control plane, kubelets, a supervisor; pods are API objects). */
  live?: boolean;
  /** Live lab: nodes stopped with `lab node stop`. */
  stoppedNodes?: string[];
}

export function readState(lab: string, root = labRoot()): LabState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(labPaths(lab, root).state, 'utf8')) as LabState;
    return parsed && parsed.version === 1 && parsed.topology ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(state: LabState, root = labRoot()): void {
  const file = labPaths(state.topology.name, root).state;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
  fs.renameSync(tmp, file);
}

/** Names of the labs that have a state directory. */
export function labDirs(root = labRoot()): string[] {
  try {
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}
