// Counters of one node's data path: totals each way, one counter per drop reason, per-peer counters.
// Plain numbers bumped on the hot path (no allocation); `snapshot()` makes a JSON-able copy for the
// control socket, `flannelette stats` and Prometheus.

import { WG_DROP_REASONS } from '../wireguard/drops.js';

/** Every reason a packet can be dropped, by stage. The index is the counter slot. */
export const DROP_REASONS = [
  // TUN side (pod → overlay)
  'tun-malformed', // not a sane IPv4 header
  'tun-not-ipv4', // IPv6 or other version (IPv4 overlay only)
  'no-route', // no peer subnet covers the destination (ICMP net unreachable sent when due)
  'ttl-expired', // TTL would reach zero (ICMP time exceeded sent)
  'too-big', // larger than the path MTU (ICMP fragmentation needed sent when DF is set)
  'underlay-send-failed', // socket buffer full
  // underlay side (overlay → pod)
  'unknown-peer', // datagram from an address that is not a known peer
  'truncated', // too short for the backend's headers
  'bad-vxlan-flags', // VXLAN I flag missing
  'wrong-vni', // VNI is not ours
  'wrong-inner-mac', // inner destination MAC is not our VTEP MAC
  'not-ipv4-inner', // inner ethertype/version is not IPv4
  'inner-malformed', // inner IPv4 header fails its checks
  'spoofed-source', // inner source outside the sending peer's subnet
  'not-local-destination', // inner destination outside this node's subnet
  'tun-write-failed', // TUN device queue full
  // encrypted backends (wireguard): refused by the tunnel before anything reaches the TUN
  ...WG_DROP_REASONS,
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export const Drop: { readonly [K in DropReason as K]: number } = Object.fromEntries(
  DROP_REASONS.map((r, i) => [r, i]),
) as never;

export interface PeerCounters {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Clock time (ms) of the last packet each way, or -1. */
  lastTx: number;
  lastRx: number;
}

export function newPeerCounters(): PeerCounters {
  return { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, lastTx: -1, lastRx: -1 };
}

export class DataplaneCounters {
  /** Packets read from the TUN device and sent encapsulated. */
  txPackets = 0;
  txBytes = 0;
  /** Datagrams received, unwrapped and written to the TUN device. */
  rxPackets = 0;
  rxBytes = 0;
  /** ICMP errors generated towards local senders. */
  icmpSent = 0;
  readonly drops = new Float64Array(DROP_REASONS.length);

  drop(reason: number): void {
    this.drops[reason]++;
  }

  dropCount(reason: DropReason): number {
    return this.drops[Drop[reason]];
  }

  totalDrops(): number {
    let n = 0;
    for (const d of this.drops) n += d;
    return n;
  }

  snapshot(): CountersSnapshot {
    const drops = {} as Record<DropReason, number>;
    DROP_REASONS.forEach((r, i) => (drops[r] = this.drops[i]!));
    return {
      txPackets: this.txPackets,
      txBytes: this.txBytes,
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      icmpSent: this.icmpSent,
      drops,
    };
  }
}

export interface CountersSnapshot {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  icmpSent: number;
  drops: Record<DropReason, number>;
}
