// Builds the Membership a node runs with from where its peers come from: a static cluster file
// (control/static.ts, loaded only when used), etcd in flannel's key layout (control/etcd.ts over control/etcd-registry.ts,
// loaded only when used: the etcd3/gRPC client is heavy), or a fixed list given on the command line
// (control/flag-membership.ts). The caller (cli/node-command.ts) has already parsed and checked
// the flags; this module decides the node-side details: the etcd state file next to the control
// socket, a random VTEP MAC (from the injected rng) when none was given for vxlan, and (etcd,
// wireguard) the node's public key for its lease.
// Throws ConfigError from the membership constructors (bad TTL, overlapping peers, …).
import path from 'node:path';
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Ipv6 } from '../addr/ipv6.js';
import { randomMac, type Mac } from '../addr/mac.js';
import { createFlagMembership, type NamedPeer } from '../control/flag-membership.js';
import type { BackendConfig, Membership } from '../control/membership.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';

export type MembershipSource =
  | { kind: 'cluster'; file: string }
  | {
      kind: 'etcd';
      endpoints: string[];
      prefix: string;
      publicIp: Ipv4;
      leaseTtlSeconds?: number;
      /** flannel's --subnet-lease-renew-margin, minutes. */
      renewMarginMinutes?: number;
      /** A previous subnet.env whose subnet is reused when free (and where the node writes it). */
      subnetEnvPath?: string;
      /** Dual stack: the lease's PublicIPv6. */
      publicIpv6?: Ipv6;
    }
  | {
      kind: 'peers';
      network: Cidr;
      subnet: Cidr;
      publicIp: Ipv4;
      backend: BackendConfig;
      vtepMac?: Mac;
      peers: NamedPeer[];
    };

export interface BuildMembershipOptions {
  nodeName: string;
  /** The node's state directory (control socket, etcd state file). */
  stateDir: string;
  logger: Logger;
  /** For a VTEP MAC when none is given (peers source, vxlan). */
  rng: Rng;
  /** This node's WireGuard public key, asked for by etcd membership when the network's backend is wireguard. */
  wireguardPublicKey?: () => Buffer;
  /** etcd: the subnet lease was lost or taken over (flannel's "Lease has been revoked"). */
  onLeaseLost?: (reason: string) => void;
}

/** Where an etcd node keeps its VTEP MAC across restarts. */
export function etcdStateFile(stateDir: string, nodeName: string): string {
  return path.join(stateDir, `${nodeName}.state.json`);
}

export async function buildMembership(source: MembershipSource, opts: BuildMembershipOptions): Promise<Membership> {
  switch (source.kind) {
    case 'cluster': {
      // loaded only when used, as etcd below: the cluster file's YAML parser costs every other node ~8 MB RSS
      const { createStaticMembership } = await import('../control/static.js');
      return createStaticMembership({ file: source.file, nodeName: opts.nodeName, logger: opts.logger });
    }
    case 'etcd': {
      const [{ createEtcdMembership }, { EtcdRegistry }] = await Promise.all([
        import('../control/etcd.js'),
        import('../control/etcd-registry.js'),
      ]);
      return createEtcdMembership({
        registry: new EtcdRegistry({ endpoints: source.endpoints, prefix: source.prefix }),
        publicIp: source.publicIp,
        publicIpv6: source.publicIpv6,
        logger: opts.logger,
        leaseTtlSeconds: source.leaseTtlSeconds,
        renewMarginMinutes: source.renewMarginMinutes,
        onLeaseLost: opts.onLeaseLost,
        subnetEnvPath: source.subnetEnvPath,
        stateFile: etcdStateFile(opts.stateDir, opts.nodeName),
        wireguardPublicKey: opts.wireguardPublicKey,
      });
    }
    case 'peers': {
      const vxlan = source.backend.type === 'vxlan';
      return createFlagMembership({
        network: source.network,
        subnet: source.subnet,
        publicIp: source.publicIp,
        backend: source.backend,
        vtepMac: vxlan ? (source.vtepMac ?? randomMac(opts.rng)) : undefined,
        peers: source.peers,
      });
    }
  }
}
