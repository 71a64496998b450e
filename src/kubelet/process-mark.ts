// The mark on every process the kubelet starts for a pod (pause, containers, and `kubectl exec` sessions,
// which take their container's environment): FLT_LAB=<lab>, the variable every process of a lab carries
// (lab/env.ts; `lab down` finds strays by it), and FLT_POD_UID=<the pod's uid>. In an attached pod
// (`lab attach`) the namespace is the user's: the mark tells the lab's processes there (they go with the
// pod, its node and the lab) from the user's (never killed). Pure, except the /proc reads; never throws.
import { hasEnvEntry } from '../sys/proc-env.js';

export const LAB_MARK = 'FLT_LAB';
export const POD_MARK = 'FLT_POD_UID';

/** The environment entries that mark a process as pod `uid`'s of lab `lab`. */
export function processMark(lab: string, uid: string): Record<string, string> {
  return { [LAB_MARK]: lab, [POD_MARK]: uid };
}

/** True when `pid` was started for pod `uid` (its environment carries the pod mark). */
export function isPodProcess(pid: number, uid: string): boolean {
  return hasEnvEntry(pid, POD_MARK, uid);
}

/** True when `pid` belongs to lab `lab` (its environment carries the lab mark). */
export function isLabProcess(pid: number, lab: string): boolean {
  return hasEnvEntry(pid, LAB_MARK, lab);
}
