// `lab exec` and `lab logs`: find a pod (or a node) of a running lab, run a command inside its
// network namespace with the caller's stdio, and locate log files. Containers of a pod share only
// the network namespace, so `-c` selects the container's environment (CONTAINER_NAME) and is
// checked to exist. Throws ConfigError for an unknown pod, node or container.
import fs from 'node:fs';
import { netnsArgv, runInteractive } from '../sys/run.js';
import { ConfigError } from '../util/errors.js';
import { containerEnv, LAB_ENV, nodeEnv } from './env.js';
import { INTERNET, internetNetns } from './internet.js';
import { CLIENT, clientNetns } from './live-services.js';
import { containerLogFile, labPaths, labRoot, nodeLogFile, type LabState } from './state.js';

export interface ExecTarget {
  kind: 'pod' | 'node';
  name: string;
  netns: string;
  env: Record<string, string>;
}

export function findTarget(state: LabState, name: string, container?: string): ExecTarget {
  const t = state.topology;
  // in a live lab `client` is the lab's client namespace (a topology pod of that name is an API pod, reached
  // by kubectl exec); in a static lab a pod of that name wins
  if (state.live && name === CLIENT && t.services) return { kind: 'node', name, netns: clientNetns(t.name), env: {} };
  const pod = t.pods.find((p) => p.name === name);
  if (pod) {
    const c = container === undefined ? pod.containers[0] : pod.containers.find((x) => x.name === container);
    if (!c)
      throw new ConfigError(
        `pod ${name} has no container "${container}" (containers: ${pod.containers.map((x) => x.name).join(', ')})`,
      );
    return { kind: 'pod', name, netns: pod.netns, env: containerEnv(t.name, pod, c.name) };
  }
  if (name === INTERNET && !t.nodes.some((n) => n.name === name))
    return { kind: 'node', name, netns: internetNetns(t.name), env: { [LAB_ENV]: t.name } };
  const node = t.nodes.find((n) => n.name === name);
  if (node) {
    if (container !== undefined) throw new ConfigError(`${name} is a node; -c only applies to pods`);
    return { kind: 'node', name, netns: node.netns, env: nodeEnv(t.name, node) };
  }
  if (name === CLIENT && t.services) return { kind: 'node', name, netns: clientNetns(t.name), env: {} };
  throw new ConfigError(
    `lab ${t.name} has no pod or node "${name}" (pods: ${t.pods.map((p) => p.name).join(', ') || 'none'})`,
  );
}

/** Runs argv in the target's namespace with inherited stdio; resolves with its exit code. */
export function execIn(target: ExecTarget, argv: readonly string[]): Promise<number> {
  if (argv.length === 0)
    throw new ConfigError('give a command to run after --, e.g. lab exec busybox -- ping 10.244.2.2');
  return runInteractive(netnsArgv(target.netns, argv), target.env);
}

export interface LogFile {
  label: string;
  path: string;
}

/** The log files of a pod (each container, or just `container`) or of a node agent. */
export function logFiles(state: LabState, name: string, container?: string, root = labRoot()): LogFile[] {
  const t = state.topology;
  const paths = labPaths(t.name, root);
  const pod = t.pods.find((p) => p.name === name);
  if (pod) {
    const list = container === undefined ? pod.containers : pod.containers.filter((c) => c.name === container);
    if (list.length === 0)
      throw new ConfigError(
        `pod ${name} has no container "${container}" (containers: ${pod.containers.map((x) => x.name).join(', ')})`,
      );
    return list.map((c) => ({ label: `${pod.name}/${c.name}`, path: containerLogFile(paths, pod.name, c.name) }));
  }
  if (t.nodes.some((n) => n.name === name)) {
    if (container !== undefined) throw new ConfigError(`${name} is a node; -c only applies to pods`);
    return [{ label: name, path: nodeLogFile(paths, name) }];
  }
  throw new ConfigError(`lab ${t.name} has no pod or node "${name}"`);
}

export function readLog(file: LogFile): string {
  try {
    return fs.readFileSync(file.path, 'utf8');
  } catch {
    return '';
  }
}
