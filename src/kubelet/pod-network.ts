// A pod's network, behind one boundary (what CNI is to the real kubelet's runtime): attach() gives the
// pod's network namespace its `eth0` and address and returns them; detach() undoes it and is
// idempotent. Two implementations:
// - CniPodNetwork (the config has `cni`): the loopback plugin, then the node's conflist
//   (10-flannel.conflist: flannel → bridge + host-local, then portmap), run inside the node's network
//   namespace as a kubelet on that node would run them; container ID = pod uid; CNI_ARGS as kubelet
//   sets them; hostPorts as portmap's `portMappings` capability. The address comes from host-local's
//   state, and DEL releases it.
// - BuiltinPodNetwork (no `cni`, e.g. the plugins are not installed): a veth onto cni0 and an address
//   from the kubelet's own host-local-style IPAM (ipam.ts), as before CNI.
// attach throws CniError / DeviceError / CapacityError after undoing what it did.
import path from 'node:path';
import { Cidr } from '../addr/ipv4.js';
import { LOOPBACK_LIST, resultHostVeth, resultIpv4, resultIpv6 } from '../cni/conflist.js';
import { runFlannelPlugin } from '../cni/flannel-plugin.js';
import { CniRuntime, readNetworkList, type Attachment, type JsonObject } from '../cni/runtime.js';
import { ipBatch, netnsArgv, run } from '../sys/run.js';
import { CniError } from '../util/errors.js';
import type { KubeletConfig } from './config.js';
import { HostLocalIpam } from './ipam.js';

export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
  /** hostPort mappings of the pod's containers. */
  portMappings?: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
}

export interface PodAttachment {
  ip: string;
  /** Dual stack: the pod's IPv6 address (CNI with a second host-local range). */
  ip6?: string;
  hostVeth: string;
}

export interface PodNetwork {
  readonly kind: 'cni' | 'builtin';
  attach(pod: PodRef, netns: string, hostVethHint: string): Promise<PodAttachment>;
  detach(pod: PodRef, netns: string, hostVeth: string): Promise<void>;
}

export class BuiltinPodNetwork implements PodNetwork {
  readonly kind = 'builtin';
  readonly ipam: HostLocalIpam;

  constructor(private readonly cfg: KubeletConfig) {
    this.ipam = new HostLocalIpam(path.join(cfg.stateDir, 'ipam'), cfg.podCIDR, cfg.gateway);
  }

  async attach(pod: PodRef, netns: string, hostVeth: string): Promise<PodAttachment> {
    const cfg = this.cfg;
    const ip = this.ipam.allocate(pod.uid);
    await run('ip', ['-n', cfg.nodeNetns, 'link', 'del', hostVeth]).catch(() => undefined);
    await ipBatch(cfg.nodeNetns, [
      `link add ${hostVeth} mtu ${cfg.mtu} type veth peer name eth0 mtu ${cfg.mtu} netns ${netns}`,
      `link set ${hostVeth} master ${cfg.bridge}`,
      `link set ${hostVeth} up`,
    ]);
    await ipBatch(netns, [
      'link set lo up',
      `addr add ${ip}/${Cidr.parse(cfg.podCIDR).prefix} dev eth0`,
      'link set eth0 up',
      `route add default via ${cfg.gateway}`,
    ]);
    return { ip, hostVeth };
  }

  async detach(pod: PodRef, _netns: string, hostVeth: string): Promise<void> {
    await run('ip', ['-n', this.cfg.nodeNetns, 'link', 'del', hostVeth]).catch(() => undefined);
    this.ipam.release(pod.uid);
  }
}

export class CniPodNetwork implements PodNetwork {
  readonly kind = 'cni';
  private readonly runtime: CniRuntime;

  constructor(
    private readonly cfg: KubeletConfig & { cni: NonNullable<KubeletConfig['cni']> },
    onStderr?: (text: string) => void,
  ) {
    this.runtime = new CniRuntime({
      binDirs: cfg.cni.binDirs,
      cacheDir: cfg.cni.cacheDir,
      prefix: netnsArgv(cfg.nodeNetns, []),
      onStderr,
      // the flannel plugin in this process (its delegates still run as executables in the node's namespace):
      // a Node.js process per pod cost ~0.15 s of CPU each (issue 16)
      inProcess: { flannel: runFlannelPlugin },
    });
  }

  private attachment(pod: PodRef, netns: string, ifName: string): Attachment {
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.uid};K8S_POD_UID=${pod.uid}`;
    const capabilityArgs: JsonObject | undefined = pod.portMappings?.length
      ? { portMappings: pod.portMappings }
      : undefined;
    return { containerId: pod.uid, netns: netns ? `/run/netns/${netns}` : '', ifName, args, capabilityArgs };
  }

  async attach(pod: PodRef, netns: string): Promise<PodAttachment> {
    const list = readNetworkList(this.cfg.cni.confFile);
    await this.runtime.add(LOOPBACK_LIST, this.attachment(pod, netns, 'lo'));
    try {
      const result = await this.runtime.add(list, this.attachment(pod, netns, 'eth0'));
      const ip = resultIpv4(result);
      if (!ip) throw new CniError(999, `${list.name}: the result has no IPv4 address: ${JSON.stringify(result)}`);
      const ip6 = resultIpv6(result);
      return { ip, ...(ip6 ? { ip6 } : {}), hostVeth: resultHostVeth(result) ?? '' };
    } catch (err) {
      await this.detach(pod, netns).catch(() => undefined);
      throw err;
    }
  }

  async detach(pod: PodRef, netns: string): Promise<void> {
    const list = readNetworkList(this.cfg.cni.confFile);
    await this.runtime.del(list, this.attachment(pod, netns, 'eth0'));
    await this.runtime.del(LOOPBACK_LIST, this.attachment(pod, netns, 'lo'));
  }
}

/** The pod network the config asks for. */
export function podNetworkFor(cfg: KubeletConfig, onStderr?: (text: string) => void): PodNetwork {
  return cfg.cni ? new CniPodNetwork({ ...cfg, cni: cfg.cni }, onStderr) : new BuiltinPodNetwork(cfg);
}
