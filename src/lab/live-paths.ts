// Where the live lab's parts meet on disk (K8S-CONTRACT.md): the API token and kubeconfig, the control
// plane's address file and unix socket, each node's kubelet config, state dir and socket, and the
// supervisor's pid, spec (what it runs) and status (pids, restarts) files. Pure path arithmetic.
import path from 'node:path';
import { labPaths, labRoot } from './state.js';

export interface LivePaths {
  dir: string;
  runDir: string;
  logDir: string;
  token: string;
  kubeconfig: string;
  controlplaneJson: string;
  controlplaneDir: string;
  apiSocket: string;
  supervisorPid: string;
  supervisorSpec: string;
  supervisorStatus: string;
  supervisorLog: string;
}

export function livePaths(lab: string, root = labRoot()): LivePaths {
  const p = labPaths(lab, root);
  return {
    dir: p.dir,
    runDir: p.runDir,
    logDir: p.logDir,
    token: path.join(p.dir, 'token'),
    kubeconfig: path.join(p.dir, 'kubeconfig'),
    controlplaneJson: path.join(p.dir, 'controlplane.json'),
    controlplaneDir: path.join(p.dir, 'controlplane'),
    apiSocket: path.join(p.runDir, 'apiserver.sock'),
    supervisorPid: path.join(p.dir, 'supervisor.pid'),
    supervisorSpec: path.join(p.dir, 'supervisor-spec.json'),
    supervisorStatus: path.join(p.runDir, 'supervisor-status.json'),
    supervisorLog: path.join(p.logDir, 'supervisor.log'),
  };
}

export function nodeStateDir(lp: LivePaths, node: string): string {
  return path.join(lp.dir, 'nodes', node);
}

export function kubeletConfigFile(lp: LivePaths, node: string): string {
  return path.join(nodeStateDir(lp, node), 'kubelet.json');
}

export function kubeletSocket(lp: LivePaths, node: string): string {
  return path.join(lp.runDir, `kubelet-${node}.sock`);
}

export function kubeletLogFile(lp: LivePaths, node: string): string {
  return path.join(lp.logDir, `kubelet-${node}.log`);
}

export function controlplaneLogFile(lp: LivePaths): string {
  return path.join(lp.logDir, 'controlplane.log');
}
