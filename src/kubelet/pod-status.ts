// Pure builders of a pod's status from what the kubelet knows of its containers: container states
// (waiting / running / terminated with Kubernetes' reasons), the phase (Pending, Running, Succeeded,
// Failed, as kubelet's getPhase decides it) and the conditions (PodReadyToStartContainers, Initialized,
// ContainersReady, Ready, PodScheduled). Nothing here throws or does I/O.
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodPhase } from '../k8s/types.js';
import type { ExitRecord } from './containers.js';

export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  restartCount: number;
  running?: { startedAt: string };
  terminated?: ExitRecord;
  waiting?: { reason: string; message?: string };
  lastTerminated?: ExitRecord;
  ready: boolean;
  /** The container has run at least once (for the Pending/Running decision). */
  everRan: boolean;
}

export function terminatedState(e: ExitRecord, containerID?: string): NonNullable<ContainerState['terminated']> {
  return {
    exitCode: e.exitCode,
    ...(e.signal ? { signal: e.signal } : {}),
    reason: e.exitCode === 0 ? 'Completed' : 'Error',
    ...(e.message ? { message: e.message } : {}),
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    ...(containerID ? { containerID } : {}),
  };
}

export function containerStatus(v: ContainerView): ContainerStatus {
  let state: ContainerState;
  if (v.running) state = { running: { startedAt: v.running.startedAt } };
  else if (v.waiting)
    state = { waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) } };
  else if (v.terminated) state = { terminated: terminatedState(v.terminated, v.containerID) };
  else state = { waiting: { reason: 'ContainerCreating' } };
  return {
    name: v.name,
    image: v.image,
    imageID: v.imageID,
    ...(v.containerID ? { containerID: v.containerID } : {}),
    ready: v.ready,
    started: Boolean(v.running),
    restartCount: v.restartCount,
    state,
    lastState: v.lastTerminated ? { terminated: terminatedState(v.lastTerminated) } : {},
  };
}

export function podPhase(restartPolicy: Pod['spec']['restartPolicy'], views: readonly ContainerView[]): PodPhase {
  let waitingNew = 0;
  let running = 0;
  let succeeded = 0;
  let failed = 0;
  for (const v of views) {
    if (v.running) running++;
    else if (v.terminated && !v.waiting) {
      if (v.terminated.exitCode === 0) succeeded++;
      else failed++;
    } else if (!v.everRan) waitingNew++;
    else running++; // restarting (in back-off): still counts as running, as in kubelet
  }
  if (waitingNew > 0) return 'Pending';
  if (running > 0) return 'Running';
  const policy = restartPolicy ?? 'Always';
  if (policy === 'Always') return 'Running';
  if (failed > 0) return policy === 'Never' ? 'Failed' : 'Running';
  return succeeded > 0 ? 'Succeeded' : 'Pending';
}

/** Conditions with lastTransitionTime kept from `previous` when the status did not change. */
export function podConditions(
  previous: readonly PodCondition[] | undefined,
  sandboxReady: boolean,
  views: readonly ContainerView[],
  now: string,
): PodCondition[] {
  const allReady = views.length > 0 && views.every((v) => v.ready);
  const notReady = views.filter((v) => !v.ready).map((v) => v.name);
  const want: PodCondition[] = [
    { type: 'PodReadyToStartContainers', status: sandboxReady ? 'True' : 'False' },
    { type: 'Initialized', status: 'True' },
    allReady
      ? { type: 'Ready', status: 'True' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${notReady.join(' ')}]`,
        },
    allReady
      ? { type: 'ContainersReady', status: 'True' }
      : {
          type: 'ContainersReady',
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${notReady.join(' ')}]`,
        },
    { type: 'PodScheduled', status: 'True' },
  ];
  return want.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastProbeTime: null, lastTransitionTime };
  });
}
