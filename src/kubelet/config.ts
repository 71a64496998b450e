// The kubelet's configuration file (JSON, written by the lab for each node; see K8S-CONTRACT.md):
// parsed and checked here. parseKubeletConfig throws ConfigError naming the file and the field.
import fs from 'node:fs';
import { ConfigError } from '../util/errors.js';

export interface KubeletConfig {
  nodeName: string;
  lab: string;
  labDir: string;
  netnsPrefix: string;
  nodeNetns: string;
  podCIDR: string;
  gateway: string;
  bridge: string;
  mtu: number;
  publicIp: string;
  apiSocket: string;
  tokenFile: string;
  stateDir: string;
  socket: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  /** Extra image mappings: image name (without tag) → host command (entrypoint). */
  images: Record<string, string[]>;
  /** Base of the restart back-off in ms (kubelet: 10 s); tests shorten it. */
  backoffBaseMs?: number;
  /** Cap of the restart back-off in ms (kubelet: 300 s). */
  backoffCapMs?: number;
  /** Node heartbeat period in ms (default 2000). */
  heartbeatMs?: number;
  /** Nameservers for the pods' resolv.conf (kubelet's clusterDNS); none by default. */
  clusterDNS?: string[];
  /** The cluster domain for resolv.conf's search line (default cluster.local). */
  clusterDomain?: string;
  /** Pod networks through CNI (pod-network.ts): the conflist, CNI_PATH and the result cache; else built in. */
  cni?: { confFile: string; binDirs: string[]; cacheDir: string };
  /** The pod network (kube-proxy's --cluster-cidr); default: the podCIDR widened to /16. */
  clusterCIDR?: string;
  /** Dual stack: the IPv6 pod network (kube-proxy's second --cluster-cidr); turns on its ip6 proxier. */
  clusterCIDR6?: string;
  /** Pods without a `flannelette.io/runtime` annotation run in Docker (the lab's `runtime: docker`). */
  defaultRuntime?: 'docker';
}

const STRING_FIELDS = [
  'nodeName',
  'lab',
  'labDir',
  'netnsPrefix',
  'nodeNetns',
  'podCIDR',
  'gateway',
  'bridge',
  'publicIp',
  'apiSocket',
  'tokenFile',
  'stateDir',
  'socket',
] as const;

/** Checks a parsed config object; `where` names the file in error messages. */
export function checkKubeletConfig(raw: unknown, where: string): KubeletConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: expected a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  for (const f of STRING_FIELDS) {
    if (typeof o[f] !== 'string' || o[f] === '')
      throw new ConfigError(`${where}: field "${f}" must be a non-empty string`);
  }
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(o['podCIDR'] as string)) {
    throw new ConfigError(`${where}: field "podCIDR" is not an IPv4 CIDR: "${String(o['podCIDR'])}"`);
  }
  const mtu = o['mtu'] ?? 1450;
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 65535) {
    throw new ConfigError(`${where}: field "mtu" must be an integer from 576 to 65535`);
  }
  for (const f of ['annotations', 'labels', 'images'] as const) {
    const v = o[f];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new ConfigError(`${where}: field "${f}" must be an object`);
    }
  }
  const images: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((o['images'] ?? {}) as Record<string, unknown>)) {
    const argv = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((x) => typeof x === 'string')) {
      throw new ConfigError(`${where}: images."${k}" must be a command (a string or a list of strings)`);
    }
    images[k] = argv;
  }
  for (const f of ['backoffBaseMs', 'backoffCapMs', 'heartbeatMs'] as const) {
    const v = o[f];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0)))
      throw new ConfigError(`${where}: field "${f}" must be > 0`);
  }
  const dns = o['clusterDNS'];
  if (
    dns !== undefined &&
    (!Array.isArray(dns) || !dns.every((x) => typeof x === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(x)))
  ) {
    throw new ConfigError(`${where}: field "clusterDNS" must be a list of IPv4 addresses`);
  }
  if (o['clusterDomain'] !== undefined && typeof o['clusterDomain'] !== 'string') {
    throw new ConfigError(`${where}: field "clusterDomain" must be a string`);
  }
  if (o['defaultRuntime'] !== undefined && o['defaultRuntime'] !== 'docker')
    throw new ConfigError(`${where}: field "defaultRuntime" must be "docker" (or absent)`);
  const cni = o['cni'] as Record<string, unknown> | undefined;
  if (
    cni !== undefined &&
    (typeof cni !== 'object' ||
      cni === null ||
      typeof cni['confFile'] !== 'string' ||
      typeof cni['cacheDir'] !== 'string' ||
      !Array.isArray(cni['binDirs']) ||
      !cni['binDirs'].every((d) => typeof d === 'string'))
  ) {
    throw new ConfigError(`${where}: field "cni" must be { confFile, binDirs: [dir…], cacheDir }`);
  }
  return {
    ...(o as unknown as KubeletConfig),
    mtu,
    annotations: (o['annotations'] ?? {}) as Record<string, string>,
    labels: (o['labels'] ?? {}) as Record<string, string>,
    images,
  };
}

export function readKubeletConfig(file: string): KubeletConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  return checkKubeletConfig(raw, file);
}
