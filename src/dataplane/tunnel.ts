// The seam between the data path and an encrypted backend (wireguard): a PacketTunnel seals each
// outgoing packet for its peer and opens each received datagram, keeping its own session state,
// handshakes and timers (it sends its handshake messages and keepalives through the same underlay).
// The data path still decides routes, TTL and MTU before seal() and checks the inner packet
// (source in the peer's subnet, destination ours) after open().
//
// Buffers: seal() works in place — its header in the headroom before `off`, padding and tag after
// the packet — and returns the datagram's length, which starts at off − headerLen; open() decrypts
// in place and returns the inner packet's offset. Both return −1 when there is nothing to send or
// deliver; the tunnel has then counted why (a drop slot of counters.ts) or kept the packet for later.
// Neither throws.
import type { Peer } from './peer.js';

export interface PacketTunnel {
  /** Called when the data path learns, updates or forgets a peer (between bursts). */
  peerAdded(peer: Peer): void;
  peerRemoved(peer: Peer): void;
  seal(peer: Peer, buf: Buffer, off: number, len: number): number;
  /** After seal() returned a length: where the datagram goes (the peer's current endpoint). */
  readonly dstAddr: number;
  readonly dstPort: number;
  open(buf: Buffer, off: number, len: number, fromAddr: number, fromPort: number): number;
  /** After open() returned an offset: the decrypted length (padding included) and the peer. */
  readonly openedLen: number;
  readonly openedPeer: Peer | undefined;
  close(): void;
}
