// How a live lab's pods get their network: through CNI when Debian's containernetworking-plugins are
// installed (bridge, host-local, portmap, loopback in /usr/lib/cni), else the kubelet's built-in veth
// and IPAM. For CNI, each node has its OWN files under the lab directory (never /etc/cni/net.d or
// /var/lib/cni): `nodes/<node>/subnet.env` (written by the node agent, `--subnet-file`),
// `nodes/<node>/cni/net.d/10-flannel.conflist`, the flannel plugin's `cni/flannel/`, host-local's
// `cni/networks/` and the runtime's result cache `cni/cache/`. Throws only what fs throws.
import fs from 'node:fs';
import path from 'node:path';
import {
  FLANNEL_CONFLIST,
  flannelConflist,
  flannelPluginDir,
  missingPlugins,
  standardPluginDir,
} from '../cni/conflist.js';
import type { KubeletConfig } from '../kubelet/config.js';
import { nodeStateDir, type LivePaths } from './live-paths.js';

/** The plugins that are missing, or [] when the lab wires pods through CNI. */
export function missingCniPlugins(): string[] {
  return missingPlugins([standardPluginDir()]);
}

/** The one line `lab up` prints when it falls back to the built-in wiring. */
export function builtinWiringNotice(missing: readonly string[]): string {
  return (
    `CNI plugins not installed (${missing.join(', ')} missing from ${standardPluginDir()}): pods are wired by the ` +
    `kubelet's built-in veth and IPAM; for CNI: apt-get install containernetworking-plugins`
  );
}

export function nodeSubnetFile(lp: LivePaths, node: string): string {
  return path.join(nodeStateDir(lp, node), 'subnet.env');
}

export function nodeCniDir(lp: LivePaths, node: string): string {
  return path.join(nodeStateDir(lp, node), 'cni');
}

/** The kubelet's `cni` field for a node, or undefined when the plugins are missing. */
export function kubeletCniConfig(lp: LivePaths, node: string): KubeletConfig['cni'] {
  if (missingCniPlugins().length > 0) return undefined;
  const dir = nodeCniDir(lp, node);
  return {
    confFile: path.join(dir, 'net.d', FLANNEL_CONFLIST),
    binDirs: [flannelPluginDir(), standardPluginDir()],
    cacheDir: path.join(dir, 'cache'),
  };
}

/**
 * Writes the node's 10-flannel.conflist. The delegate's ipMasq is pinned to false: the lab's agents
 * write FLANNEL_IPMASQ=false, and the bridge plugin's masquerade would NAT pod-to-pod traffic
 * between nodes (kube-flannel runs flanneld with --ip-masq for the same reason).
 */
export function writeNodeConflist(lp: LivePaths, node: string, confFile: string): void {
  const dir = nodeCniDir(lp, node);
  const list = flannelConflist({
    subnetFile: nodeSubnetFile(lp, node),
    dataDir: path.join(dir, 'flannel'),
    ipamDataDir: path.join(dir, 'networks'),
    delegate: { ipMasq: false },
  });
  fs.mkdirSync(path.dirname(confFile), { recursive: true, mode: 0o755 });
  fs.writeFileSync(confFile, JSON.stringify(list, null, 2) + '\n');
}
