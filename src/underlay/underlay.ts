// The Underlay interface: the network between nodes. It carries UDP payloads (a VXLAN header and
// inner frame, or a raw IP packet) between node addresses. Implementations: UDP over node:dgram
// (underlay/udp.ts), a batched native UDP socket (underlay/native.ts), an in-memory network
// (underlay/memory.ts); all pass test/helpers/underlay-compliance.ts.
//
// Buffer ownership: a DatagramBatch passed to the receive handler belongs to the underlay and is
// valid only until the handler returns. send() does not keep a reference to the buffer after it
// returns (it copies or sends synchronously). Addresses are IPv4 numbers (addr/ipv4.ts).
//
// Source ports: send() may be given a per-flow source port for one datagram (the vxlan backend picks
// it from the inner flow hash, as the kernel's VXLAN device does). Implementations that honour it
// (memory: exactly that port; native with its source-port pool: the port of the pool socket the
// flow maps to, sourcePortFor()) say so with `choosesSrcPort`; those that cannot (node:dgram, native
// without a pool) send from their bound port. Receivers must not care which source port a peer used.
import type { PacketBatch } from '../util/buffers.js';

/**
 * A dual-stack underlay's IPv6 side (dataplane/dual-underlay.ts), as wrappers above it (impairments,
 * capture taps) see it: which datagrams go or came over IPv6, and between which addresses. Addresses
 * are 16 bytes, owned by the underlay (read, never keep or modify).
 */
export interface Ipv6Paths {
  /** This node's IPv6 underlay address (the bound one; the PublicIPv6 when bound to ::). */
  readonly local6: Uint8Array;
  /** The IPv6 socket's port. */
  readonly localPort6: number;
  /** The source port a datagram sent over IPv6 with this srcPort leaves from. */
  sourcePortFor6(srcPort: number | undefined): number;
  /** The peer's IPv6 address when send(buf, off, len, addr, …) would go over IPv6; else undefined. */
  sendPeer6(buf: Buffer, off: number, len: number, addr: number): Uint8Array | undefined;
  /** The sender's IPv6 address when `batch` came in over IPv6 (all of it, then); else undefined. */
  receivedPeer6(batch: DatagramBatch): Uint8Array | undefined;
}

/** A burst of received datagrams; datagram i came from addrs[i]:ports[i]. */
export interface DatagramBatch extends PacketBatch {
  addrs: Uint32Array;
  ports: Uint16Array;
}

export interface Underlay {
  readonly localAddr: number;
  readonly localPort: number;
  /**
   * True when send() honours its srcPort argument (the datagram leaves from that port); false or
   * absent when every datagram leaves from localPort. Wrappers report their inner underlay's.
   */
  readonly choosesSrcPort?: boolean;
  /**
   * The UDP source port a datagram sent with this srcPort leaves from (when choosesSrcPort); absent
   * means srcPort itself.
   */
  sourcePortFor?(srcPort: number): number;
  /** Dual-stack underlays (and wrappers over one): the IPv6 side; absent for IPv4 only. */
  readonly ipv6?: Ipv6Paths;
  /** Starts delivering bursts of received datagrams. Called once. */
  start(onBatch: (batch: DatagramBatch) => void): void;
  /**
   * Sends one datagram. Returns false when it was dropped (socket buffer full) or refused.
   * srcPort: the UDP source port for this datagram (1..65535); undefined or 0 means localPort.
   * Implementations that cannot choose it send from their bound port; one outside 0..65535 is
   * refused by those that can.
   */
  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean;
  /** Ends a batch of sends (implementations that batch flush here). */
  flush(): void;
  /** Stops receiving and closes the socket. Idempotent. */
  close(): Promise<void>;
}

export function newDatagramBatch(capacity: number): DatagramBatch {
  return {
    count: 0,
    bufs: new Array<Buffer>(capacity),
    offs: new Int32Array(capacity),
    lens: new Int32Array(capacity),
    addrs: new Uint32Array(capacity),
    ports: new Uint16Array(capacity),
  };
}
