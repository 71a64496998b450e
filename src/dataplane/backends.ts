// Encapsulation backends, an explicit map from name to implementation (DESIGN.md principle 6).
//
// - vxlan: wire-identical to flannel's vxlan backend and the kernel's VXLAN device: the UDP payload
//   is an 8-byte VXLAN header (I flag, 24-bit VNI) + an inner Ethernet header (dst = peer VTEP MAC,
//   src = our VTEP MAC, ethertype IPv4) + the IP packet. Default port 8472, VNI 1. The outer UDP
//   source port comes from the inner flow hash (wire/flow-hash.ts), as the kernel picks it.
// - udp: wire-identical to flannel's udp backend: the UDP payload is the raw IP packet. Port 8285,
//   which is also the source port of every datagram (flannel's udp backend has one socket).
//
// encapsulate() writes the headers into the headroom in front of the packet (the caller guarantees
// `overhead` free bytes before `off`) and returns the new start offset; it cannot fail.
// decapsulate() validates a received payload and returns the inner packet's offset, or a negative
// number: -(1 + drop slot) from dataplane/counters.ts. Neither allocates.
import { ETH_HEADER_LEN, ETHERTYPE_IPV4, writeEthernetHeader } from '../wire/ethernet.js';
import { VXLAN_HEADER_LEN, vxlanCheck, vxlanVni, writeVxlanHeader } from '../wire/vxlan.js';
import { Drop } from './counters.js';
import type { PeerSpec } from './peer.js';

export type BackendName = 'vxlan' | 'udp';

export interface BackendLocal {
  vni: number;
  vtepMac: Buffer;
}

export interface Backend {
  readonly name: BackendName;
  /** Bytes the backend adds inside the UDP payload. */
  readonly overhead: number;
  readonly defaultPort: number;
  /**
   * 'flow': each datagram's UDP source port is derived from the inner flow (the kernel VXLAN
   * device's udp_flow_src_port); 'bound': datagrams leave from the socket's bound port.
   */
  readonly sourcePort: 'flow' | 'bound';
  /** The TUN device name flannel uses for this backend. */
  readonly defaultTunName: string;
  encapsulate(buf: Buffer, off: number, peer: PeerSpec, local: BackendLocal): number;
  decapsulate(buf: Buffer, off: number, len: number, local: BackendLocal): number;
}

const VXLAN_OVERHEAD = VXLAN_HEADER_LEN + ETH_HEADER_LEN;

export const vxlanBackend: Backend = {
  name: 'vxlan',
  overhead: VXLAN_OVERHEAD,
  defaultPort: 8472,
  sourcePort: 'flow',
  defaultTunName: 'flannel.1',
  encapsulate(buf, off, peer, local) {
    const start = off - VXLAN_OVERHEAD;
    writeVxlanHeader(buf, start, local.vni);
    writeEthernetHeader(buf, start + VXLAN_HEADER_LEN, peer.vtepMac!, local.vtepMac, ETHERTYPE_IPV4);
    return start;
  },
  decapsulate(buf, off, len, local) {
    if (len < VXLAN_OVERHEAD + 20) return -1 - Drop.truncated;
    if (vxlanCheck(buf, off, len) !== 0) return -1 - Drop['bad-vxlan-flags'];
    if (vxlanVni(buf, off) !== local.vni) return -1 - Drop['wrong-vni'];
    const eth = off + VXLAN_HEADER_LEN;
    const mac = local.vtepMac;
    if (buf[eth] !== mac[0] || buf[eth + 1] !== mac[1] || buf[eth + 2] !== mac[2] || buf[eth + 3] !== mac[3] || buf[eth + 4] !== mac[4] || buf[eth + 5] !== mac[5]) {
      return -1 - Drop['wrong-inner-mac'];
    }
    if (((buf[eth + 12]! << 8) | buf[eth + 13]!) !== ETHERTYPE_IPV4) return -1 - Drop['not-ipv4-inner'];
    return eth + ETH_HEADER_LEN;
  },
};

export const udpBackend: Backend = {
  name: 'udp',
  overhead: 0,
  defaultPort: 8285,
  sourcePort: 'bound',
  defaultTunName: 'flannel0',
  encapsulate(_buf, off) {
    return off;
  },
  decapsulate(_buf, off, len) {
    if (len < 20) return -1 - Drop.truncated;
    return off;
  },
};

export const BACKENDS: Readonly<Record<BackendName, Backend>> = { vxlan: vxlanBackend, udp: udpBackend };

/** Outer IPv4 (20) + UDP (8) headers the kernel adds on the underlay. */
export const OUTER_IP_UDP = 28;

/** flannel's default TUN MTU: the underlay MTU minus everything the backend adds. */
export function defaultMtu(backend: Backend, underlayMtu: number): number {
  return underlayMtu - OUTER_IP_UDP - backend.overhead;
}
