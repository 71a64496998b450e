// Membership from command-line flags: this node's own subnet/network/public IP and a fixed list of
// `--peer` flags. Used when no cluster file and no etcd is given; it never changes at run time.
// Validates at construction (ConfigError): subnet inside the network, peers' subnets inside the
// network and not overlapping ours or each other, VTEP MACs present for vxlan, public keys for wireguard.
import type { Cidr, Ipv4 } from '../addr/ipv4.js';
import type { Mac } from '../addr/mac.js';
import { ConfigError } from '../util/errors.js';
import type { BackendConfig, LocalLease, Membership, MembershipEvent, PeerInfo } from './membership.js';
import { settleNow } from '../util/promise.js';

/** A peer given on the command line (cli/peer-flag.ts parses `--peer name=..,ip=..,subnet=..`). */
export interface NamedPeer {
  name: string;
  publicIp: Ipv4;
  subnet: Cidr;
  vtepMac?: Mac;
  /** The peer's WireGuard public key, 32 bytes (wireguard backend; required for it). */
  publicKey?: Buffer;
}

export interface FlagMembershipOptions {
  network: Cidr;
  subnet: Cidr;
  publicIp: Ipv4;
  backend: BackendConfig;
  vtepMac?: Mac;
  peers: NamedPeer[];
}

export function createFlagMembership(opts: FlagMembershipOptions): Membership {
  if (!opts.network.covers(opts.subnet))
    throw new ConfigError(`--subnet ${opts.subnet} is outside --network ${opts.network}`);
  const seen: Cidr[] = [opts.subnet];
  for (const p of opts.peers) {
    if (!opts.network.covers(p.subnet))
      throw new ConfigError(`--peer ${p.name}: subnet ${p.subnet} is outside --network ${opts.network}`);
    const clash = seen.find((s) => s.overlaps(p.subnet));
    if (clash) throw new ConfigError(`--peer ${p.name}: subnet ${p.subnet} overlaps ${clash}`);
    seen.push(p.subnet);
    if (opts.backend.type === 'wireguard' && !p.publicKey)
      throw new ConfigError(`--peer ${p.name}: the wireguard backend needs the peer's public key (key=..)`);
    if (opts.backend.type === 'vxlan' && !p.vtepMac)
      throw new ConfigError(`--peer ${p.name}: the vxlan backend needs the peer's VTEP MAC (mac=..)`);
  }
  const peers: PeerInfo[] = opts.peers.map((p) => ({
    name: p.name,
    subnet: p.subnet,
    publicIp: p.publicIp,
    vtepMac: p.vtepMac,
    publicKey: p.publicKey,
  }));
  let running = false;
  return {
    start(onEvent: (e: MembershipEvent) => void): Promise<LocalLease> {
      return settleNow(() => {
        running = true;
        for (const peer of peers) onEvent({ type: 'peer-added', peer });
        return {
          subnet: opts.subnet,
          network: opts.network,
          backend: opts.backend,
          publicIp: opts.publicIp,
          vtepMac: opts.vtepMac,
        };
      });
    },
    peers: () => peers.slice(),
    status: () => ({ source: 'static', state: running ? 'running' : 'stopped' }),
    stop() {
      running = false;
      return Promise.resolve();
    },
  };
}
