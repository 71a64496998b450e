// The set of known peers keyed by subnet, and the events that turn one set into another. Both
// memberships keep their view here, so every change (a watch event, a reconcile after a reconnect,
// a file reload) goes through the same diff and emits nothing when nothing changed. Never throws.
import type { Cidr } from '../addr/ipv4.js';
import { copyPeer, samePeer, type MembershipEvent, type PeerInfo } from './membership.js';

export class PeerView {
  private readonly bySubnet = new Map<string, PeerInfo>();

  get size(): number {
    return this.bySubnet.size;
  }

  list(): PeerInfo[] {
    return [...this.bySubnet.values()].map(copyPeer);
  }

  get(subnet: Cidr): PeerInfo | undefined {
    return this.bySubnet.get(subnet.toString());
  }

  /** Adds or replaces a peer; returns the event, or undefined when the peer was already known as is. */
  set(peer: PeerInfo): MembershipEvent | undefined {
    const key = peer.subnet.toString();
    const old = this.bySubnet.get(key);
    if (old && samePeer(old, peer)) return undefined;
    this.bySubnet.set(key, copyPeer(peer));
    return { type: old ? 'peer-updated' : 'peer-added', peer: copyPeer(peer) };
  }

  remove(subnet: Cidr): MembershipEvent | undefined {
    const key = subnet.toString();
    const old = this.bySubnet.get(key);
    if (!old) return undefined;
    this.bySubnet.delete(key);
    return { type: 'peer-removed', subnet: old.subnet };
  }

  /** Makes the view equal to `peers`; returns removals first, then additions and updates. */
  replaceAll(peers: PeerInfo[]): MembershipEvent[] {
    const wanted = new Map(peers.map((p) => [p.subnet.toString(), p]));
    const events: MembershipEvent[] = [];
    for (const [key, old] of [...this.bySubnet]) {
      if (!wanted.has(key)) {
        const e = this.remove(old.subnet);
        if (e) events.push(e);
      }
    }
    for (const p of wanted.values()) {
      const e = this.set(p);
      if (e) events.push(e);
    }
    return events;
  }
}
