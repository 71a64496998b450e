// The wireguard backend's PacketTunnel: a WireGuard device (wireguard/device.ts) whose peers are
// the data path's peers, keyed by their public keys. A peer's first endpoint is its lease's public
// IP and port; afterwards it follows the authenticated packets (roaming). Its drops land in the
// data path's counters (the wg-* slots). Handshake messages and keepalives go out through the
// underlay given here (the same one the data path sends on, so captures and impairments see them).
//
// A peer re-announced with the same key (a lease renewal) keeps its sessions; a new key replaces
// the WireGuard peer. Nothing throws on packets.
import type { Underlay } from '../underlay/underlay.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import type { WgTimings } from '../wireguard/constants.js';
import { WgDevice, type WgStats } from '../wireguard/device.js';
import { WG_DROP_REASONS } from '../wireguard/drops.js';
import type { WgPeer } from '../wireguard/peer.js';
import { Drop, type DataplaneCounters } from './counters.js';
import type { Peer } from './peer.js';
import type { PacketTunnel } from './tunnel.js';

export interface WgTunnelOptions {
  privateKey: Buffer;
  /** Pre-shared key for every peer (flannel's Backend.PSK), 32 bytes, or none. */
  psk?: Buffer;
  persistentKeepaliveS?: number;
  mtu: number;
  underlay: Underlay;
  counters: DataplaneCounters;
  clock: Clock;
  rng: Rng;
  timings?: WgTimings;
  underLoadHandshakesPerSecond?: number;
}

const WG_DROP_BASE = Drop[WG_DROP_REASONS[0]];

export class WgTunnel implements PacketTunnel {
  readonly device: WgDevice<Peer>;
  dstAddr = 0;
  dstPort = 0;
  openedLen = 0;
  openedPeer: Peer | undefined = undefined;
  private readonly byPeer = new WeakMap<Peer, WgPeer<Peer>>();
  private readonly byKey = new Map<string, WgPeer<Peer>>();

  constructor(private readonly o: WgTunnelOptions) {
    const underlay = o.underlay;
    this.device = new WgDevice<Peer>({
      privateKey: o.privateKey,
      clock: o.clock,
      rng: o.rng,
      timings: o.timings,
      mtu: o.mtu,
      underLoadHandshakesPerSecond: o.underLoadHandshakesPerSecond,
      send: (buf, off, len, addr, port) => underlay.send(buf, off, len, addr, port),
      flush: () => underlay.flush(),
      onDrop: (i) => o.counters.drop(WG_DROP_BASE + i),
      onStagedSent: (wg, len) => {
        // counted as the data path counts a packet it sends itself
        const c = o.counters;
        c.txPackets++;
        c.txBytes += len;
        const pc = (wg.ref as Peer).counters;
        pc.txPackets++;
        pc.txBytes += len;
        pc.lastTx = o.clock.now();
      },
    });
  }

  get publicKey(): Buffer {
    return this.device.keys.publicKey;
  }

  get stats(): WgStats {
    return this.device.stats;
  }

  peerAdded(peer: Peer): void {
    if (!peer.publicKey) return;
    const key = peer.publicKey.toString('hex');
    let wg = this.byKey.get(key);
    if (wg) {
      wg.ref = peer;
      if (!wg.endpoint) wg.endpoint = { addr: peer.publicIp, port: peer.port };
    } else {
      for (const [k, other] of this.byKey) {
        if (other.ref.subnet.equals(peer.subnet)) {
          this.device.removePeer(other); // the node behind this subnet has a new key
          this.byKey.delete(k);
        }
      }
      wg = this.device.addPeer({
        publicKey: peer.publicKey,
        psk: this.o.psk,
        endpoint: { addr: peer.publicIp, port: peer.port },
        persistentKeepaliveS: this.o.persistentKeepaliveS,
        ref: peer,
      });
      this.byKey.set(key, wg);
    }
    this.byPeer.set(peer, wg);
  }

  peerRemoved(peer: Peer): void {
    const wg = this.byPeer.get(peer);
    if (!wg || wg.ref !== peer) return;
    this.device.removePeer(wg);
    this.byKey.delete(wg.publicKey.toString('hex'));
  }

  /** The WireGuard side of a data path peer (status, tests). */
  wgPeer(peer: Peer): WgPeer<Peer> | undefined {
    return this.byPeer.get(peer);
  }

  seal(peer: Peer, buf: Buffer, off: number, len: number): number {
    const wg = this.byPeer.get(peer);
    if (!wg) {
      this.o.counters.drop(Drop['wg-no-session']);
      return -1;
    }
    const n = this.device.seal(wg, buf, off, len);
    if (n > 0) {
      const ep = wg.endpoint!;
      this.dstAddr = ep.addr;
      this.dstPort = ep.port;
    }
    return n;
  }

  open(buf: Buffer, off: number, len: number, fromAddr: number, fromPort: number): number {
    const inner = this.device.receive(buf, off, len, fromAddr, fromPort);
    if (inner < 0) return -1;
    this.openedLen = this.device.rxLen;
    this.openedPeer = this.device.rxPeer!.ref;
    return inner;
  }

  close(): void {
    this.device.close();
  }
}
