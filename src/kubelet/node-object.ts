// The kubelet's Node object (registration) and its heartbeat patch, built from the config. Pure.
import os from 'node:os';
import { Cidr } from '../addr/ipv4.js';
import { FLANNEL_ANNOTATIONS, type Node, type NodeCondition } from '../k8s/types.js';
import type { KubeletConfig } from './config.js';

export const KUBELET_VERSION = 'v1.32.0-flannelette';

export function nodeConditions(nowIso: string, since: string): NodeCondition[] {
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: nowIso,
    lastTransitionTime: since,
  });
  return [
    cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

export function nodeObject(cfg: KubeletConfig, nowIso: string): Node {
  const pods = String(Math.max(0, Cidr.parse(cfg.podCIDR).size - 3));
  const resources = { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: cfg.nodeName,
      labels: {
        'kubernetes.io/hostname': cfg.nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        ...cfg.labels,
      },
      annotations: {
        [FLANNEL_ANNOTATIONS.kubeSubnetManager]: 'true',
        [FLANNEL_ANNOTATIONS.publicIp]: cfg.publicIp,
        ...cfg.annotations,
      },
    },
    spec: { podCIDR: cfg.podCIDR, podCIDRs: [cfg.podCIDR] },
    status: {
      conditions: nodeConditions(nowIso, nowIso),
      addresses: [
        { type: 'InternalIP', address: cfg.publicIp },
        { type: 'Hostname', address: cfg.nodeName },
      ],
      capacity: resources,
      allocatable: resources,
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        kernelVersion: os.release(),
        osImage: 'flannelette lab node',
        containerRuntimeVersion: 'flannelette://0.1.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: cfg.nodeName,
        systemUUID: cfg.nodeName,
        bootID: cfg.nodeName,
      },
    },
  };
}
