// The environment of every process the lab starts or runs inside a namespace, built in one place:
// FLT_LAB (which lab a process belongs to: `lab down` finds strays by it), the pod's identity
// (POD_NAME, POD_IP, NODE_NAME, CONTAINER_NAME, HOSTNAME, as the downward API and kubelet set them)
// and FLT_READY_FILE (where a built-in server signals that it listens; lab/programs.ts).
// Pure; never throws.
import { LAB_MARK } from '../kubelet/process-mark.js';
import type { LabNode, LabPod } from './topology.js';

/** FLT_LAB: also the mark the kubelet gives every pod process (kubelet/process-mark.ts). */
export const LAB_ENV = LAB_MARK;
export const READY_FILE_ENV = 'FLT_READY_FILE';

/** A container of a pod (`lab up`, `lab exec POD [-c C]`). */
export function containerEnv(
  lab: string,
  pod: Pick<LabPod, 'name' | 'ip' | 'node'>,
  container: string,
  readyFile?: string,
): Record<string, string> {
  const env: Record<string, string> = {
    [LAB_ENV]: lab,
    POD_NAME: pod.name,
    POD_IP: pod.ip,
    NODE_NAME: pod.node,
    CONTAINER_NAME: container,
    HOSTNAME: pod.name,
  };
  if (readyFile !== undefined) env[READY_FILE_ENV] = readyFile;
  return env;
}

/** A process in a node's own namespace (the node agent, `lab exec NODE`). */
export function nodeEnv(lab: string, node: Pick<LabNode, 'name'>): Record<string, string> {
  return { [LAB_ENV]: lab, NODE_NAME: node.name, HOSTNAME: node.name };
}

/** A built-in server the demo runs on a node as if it were a pod (its greeting names the node). */
export function nodeServerEnv(
  lab: string,
  node: Pick<LabNode, 'name' | 'publicIp'>,
  readyFile: string,
): Record<string, string> {
  return { ...nodeEnv(lab, node), POD_NAME: node.name, POD_IP: node.publicIp, [READY_FILE_ENV]: readyFile };
}
