// Encapsulation backends, an explicit map from name to implementation (DESIGN.md principle 6). Each
// is its row of facts from backend/table.ts (ports, overhead, TUN name, source-port policy) plus the
// code that writes and checks its headers.
//
// - vxlan: wire-identical to flannel's vxlan backend and the kernel's VXLAN device: the UDP payload
//   is an 8-byte VXLAN header (I flag, 24-bit VNI) + an inner Ethernet header (dst = peer VTEP MAC,
//   src = our VTEP MAC, ethertype IPv4, or IPv6 for an inner IPv6 packet) + the IP packet. The outer UDP source port comes from the
//   inner flow hash (wire/flow-hash.ts), as the kernel picks it.
// - udp: wire-identical to flannel's udp backend: the UDP payload is the raw IP packet, sent from
//   the bound port (flannel's udp backend has one socket).
//
// encapsulate() writes the headers into the headroom in front of the packet (the caller guarantees
// `headerLen` free bytes before `off`) and returns the new start offset; it cannot fail.
// decapsulate() validates a received payload and returns the inner packet's offset, or a negative
// number: -(1 + drop slot) from dataplane/counters.ts. Neither allocates.
import { BACKEND_TABLE, type BackendName, type UdpBackendFacts } from '../backend/table.js';
import {
  ETH_HEADER_LEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethEthertype,
  macEqualsAt,
  writeEthernetHeader,
} from '../wire/ethernet.js';
import { IPV4_MIN_HEADER } from '../wire/ipv4.js';
import { VXLAN_HEADER_LEN, vxlanCheck, vxlanVni, writeVxlanHeader } from '../wire/vxlan.js';
import { Drop } from './counters.js';
import type { PeerSpec } from './peer.js';

export interface BackendLocal {
  vni: number;
  vtepMac: Buffer;
  /** vxlan over an IPv6 underlay: the IPv6 VTEP's own MAC (flannel-v6.1's), for inner IPv6 only. */
  vtepMacV6?: Buffer;
}

export interface Backend extends UdpBackendFacts {
  readonly name: BackendName;
  encapsulate(buf: Buffer, off: number, peer: PeerSpec, local: BackendLocal): number;
  decapsulate(buf: Buffer, off: number, len: number, local: BackendLocal): number;
}

const VXLAN_HEADERS = BACKEND_TABLE.vxlan.headerLen;

export const vxlanBackend: Backend = {
  ...BACKEND_TABLE.vxlan,
  encapsulate(buf, off, peer, local) {
    const start = off - VXLAN_HEADERS;
    writeVxlanHeader(buf, start, local.vni);
    const eth = start + VXLAN_HEADER_LEN;
    if (buf[off] >>> 4 !== 6) writeEthernetHeader(buf, eth, peer.vtepMac!, local.vtepMac, ETHERTYPE_IPV4);
    // inner IPv6 over the IPv6 underlay goes between the two IPv6 VTEPs (flannel-v6.1 to flannel-v6.1)
    else if (peer.vtepMacV6 !== undefined)
      writeEthernetHeader(buf, eth, peer.vtepMacV6, local.vtepMacV6 ?? local.vtepMac, ETHERTYPE_IPV6);
    else writeEthernetHeader(buf, eth, peer.vtepMac!, local.vtepMac, ETHERTYPE_IPV6);
    return start;
  },
  decapsulate(buf, off, len, local) {
    if (len < VXLAN_HEADERS + IPV4_MIN_HEADER) return -1 - Drop.truncated;
    if (vxlanCheck(buf, off, len) !== 0) return -1 - Drop['bad-vxlan-flags'];
    if (vxlanVni(buf, off) !== local.vni) return -1 - Drop['wrong-vni'];
    const eth = off + VXLAN_HEADER_LEN;
    const ethertype = ethEthertype(buf, eth);
    const version = buf[eth + ETH_HEADER_LEN] >>> 4;
    // our IPv6 VTEP's MAC is accepted for inner IPv6 only (it is flannel-v6.1's, which carries no IPv4)
    if (
      !macEqualsAt(buf, eth, local.vtepMac) &&
      !(version === 6 && local.vtepMacV6 !== undefined && macEqualsAt(buf, eth, local.vtepMacV6))
    )
      return -1 - Drop['wrong-inner-mac'];
    // the ethertype must name the IP version the packet carries (an IPv4 packet behind 0x86dd is dropped)
    if (!(ethertype === ETHERTYPE_IPV4 ? version === 4 : ethertype === ETHERTYPE_IPV6 && version === 6))
      return -1 - Drop['not-ipv4-inner'];
    return eth + ETH_HEADER_LEN;
  },
};

export const udpBackend: Backend = {
  ...BACKEND_TABLE.udp,
  encapsulate(_buf, off) {
    return off;
  },
  decapsulate(_buf, off, len) {
    if (len < IPV4_MIN_HEADER) return -1 - Drop.truncated;
    return off;
  },
};

// wireguard: the payload is a WireGuard message, sealed and opened by the data path's tunnel
// (dataplane/tunnel.ts, wg-tunnel.ts) with per-peer session state; these two are never called for
// it (Dataplane refuses the backend without a tunnel).
export const wireguardBackend: Backend = {
  ...BACKEND_TABLE.wireguard,
  encapsulate(_buf, off) {
    return off;
  },
  decapsulate() {
    return -1 - Drop['wg-malformed'];
  },
};

export const BACKENDS: Readonly<Record<BackendName, Backend>> = {
  vxlan: vxlanBackend,
  udp: udpBackend,
  wireguard: wireguardBackend,
};
