// The network configurations a flannel node uses, and where their plugins are:
// - `10-flannel.conflist`: kube-flannel's own (network `cbr0`: `flannel` delegating with hairpinMode
//   and isDefaultGateway, then `portmap` for hostPorts), with the per-node paths a lab needs:
//   `subnetFile`, `dataDir` and host-local's `ipam.dataDir`;
// - the loopback list a runtime adds first (as containerd does);
// - the plugin directories: this checkout's bin/cni (the `flannel` wrapper) and the standard plugins
//   (Debian's containernetworking-plugins: /usr/lib/cni); missingPlugins names the ones not installed;
// - what a result says: the pod's address and the host end of its veth.
// Pure apart from missingPlugins (reads the file system); nothing throws.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../sys/package-root.js';
import type { JsonObject, NetworkList } from './runtime.js';

export const FLANNEL_CONFLIST = '10-flannel.conflist';
export const FLANNEL_NETWORK_NAME = 'cbr0';
export const STANDARD_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'] as const;
export const REQUIRED_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'] as const;

export interface FlannelConflistOptions {
  subnetFile: string;
  /** Where the flannel plugin keeps each container's delegate config (flannel's default /var/lib/cni/flannel). */
  dataDir: string;
  /** host-local's state directory (its default /var/lib/cni/networks). */
  ipamDataDir?: string;
  /** Extra delegate fields (e.g. { ipMasq: false }). */
  delegate?: JsonObject;
  cniVersion?: string;
}

export function flannelConflist(o: FlannelConflistOptions): NetworkList {
  const flannel: JsonObject = {
    type: 'flannel',
    delegate: { hairpinMode: true, isDefaultGateway: true, ...(o.delegate ?? {}) },
    subnetFile: o.subnetFile,
    dataDir: o.dataDir,
  };
  if (o.ipamDataDir) flannel['ipam'] = { type: 'host-local', dataDir: o.ipamDataDir };
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: FLANNEL_NETWORK_NAME,
    plugins: [flannel, { type: 'portmap', capabilities: { portMappings: true } }],
  };
}

export const LOOPBACK_LIST: NetworkList = {
  cniVersion: '1.0.0',
  name: 'cni-loopback',
  plugins: [{ type: 'loopback' }],
};

/** This checkout's plugin directory (bin/cni, holding `flannel`). */
export function flannelPluginDir(root = packageRoot()): string {
  return path.join(root, 'bin', 'cni');
}

/** The first standard directory holding the bridge plugin, else the first one. */
export function standardPluginDir(): string {
  return STANDARD_PLUGIN_DIRS.find((d) => fs.existsSync(path.join(d, 'bridge'))) ?? STANDARD_PLUGIN_DIRS[0];
}

/** The required plugins (REQUIRED_PLUGINS) missing from every one of `dirs`. */
export function missingPlugins(dirs: readonly string[]): string[] {
  return REQUIRED_PLUGINS.filter((p) => !dirs.some((d) => fs.existsSync(path.join(d, p))));
}

/** The first IPv4 address of a result (without the prefix length). */
export function resultIpv4(result: JsonObject): string | undefined {
  const ips = Array.isArray(result['ips']) ? (result['ips'] as JsonObject[]) : [];
  for (const ip of ips) {
    const addr = typeof ip['address'] === 'string' ? ip['address'] : '';
    if (/^\d+\.\d+\.\d+\.\d+\//.test(addr)) return addr.split('/')[0];
  }
  return undefined;
}

/** The first IPv6 address of a result (without the prefix length), for a dual-stack pod. */
export function resultIpv6(result: JsonObject): string | undefined {
  const ips = Array.isArray(result['ips']) ? (result['ips'] as JsonObject[]) : [];
  for (const ip of ips) {
    const addr = typeof ip['address'] === 'string' ? ip['address'] : '';
    if (addr.includes(':')) return addr.split('/')[0];
  }
  return undefined;
}

/** The host-side interface of the attachment (bridge's veth), if the result lists one. */
export function resultHostVeth(result: JsonObject): string | undefined {
  const ifs = Array.isArray(result['interfaces']) ? (result['interfaces'] as JsonObject[]) : [];
  const host = ifs.find((i) => !i['sandbox'] && typeof i['name'] === 'string' && /^veth/.test(i['name']));
  return host?.['name'] as string | undefined;
}
