// Two (or more) WireGuard devices joined by an in-memory wire on a virtual clock: every datagram a
// device sends is queued with its source and destination; pump() delivers the queue (optionally
// through a filter that may drop or record), returning what each receive() gave.
import crypto from 'node:crypto';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';
import { WG_TIMINGS, type WgTimings } from '../../../src/wireguard/constants.js';
import { generateKeys } from '../../../src/wireguard/crypto.js';
import { WgDevice } from '../../../src/wireguard/device.js';
import { WG_DROP_REASONS, type WgDropReason } from '../../../src/wireguard/drops.js';
import type { WgPeer } from '../../../src/wireguard/peer.js';

export interface Datagram {
  from: number;
  fromPort: number;
  to: number;
  toPort: number;
  bytes: Buffer;
}

export interface Node {
  name: string;
  addr: number;
  port: number;
  dev: WgDevice<string>;
  drops: Map<WgDropReason, number>;
  delivered: Buffer[];
  peers: Map<string, WgPeer<string>>;
}

export const HEADROOM = 64;

export class Wire {
  readonly clock = new VirtualClock();
  readonly queue: Datagram[] = [];
  readonly nodes = new Map<number, Node>();
  private seed = 1;

  node(
    name: string,
    addr: number,
    opts: { timings?: Partial<WgTimings>; mtu?: number; underLoad?: number } = {},
  ): Node {
    const keys = generateKeys();
    const drops = new Map<WgDropReason, number>();
    const node: Node = { name, addr, port: 51820, drops, delivered: [], peers: new Map(), dev: undefined as never };
    node.dev = new WgDevice<string>({
      privateKey: keys.privateKey,
      clock: this.clock,
      rng: seededRng(this.seed++),
      timings: { ...WG_TIMINGS, ...opts.timings },
      mtu: opts.mtu ?? 1420,
      underLoadHandshakesPerSecond: opts.underLoad,
      send: (buf, off, len, to, toPort) => {
        this.queue.push({
          from: addr,
          fromPort: node.port,
          to,
          toPort,
          bytes: Buffer.from(buf.subarray(off, off + len)),
        });
        return true;
      },
      flush: () => {},
      onDrop: (i) => drops.set(WG_DROP_REASONS[i], (drops.get(WG_DROP_REASONS[i]) ?? 0) + 1),
    });
    this.nodes.set(addr, node);
    return node;
  }

  /** a learns b as a peer (endpoint b's address unless `endpoint: false`). */
  link(a: Node, b: Node, opts: { psk?: Buffer; endpoint?: boolean; keepalive?: number } = {}): WgPeer<string> {
    const peer = a.dev.addPeer({
      publicKey: b.dev.keys.publicKey,
      psk: opts.psk,
      endpoint: opts.endpoint === false ? null : { addr: b.addr, port: b.port },
      persistentKeepaliveS: opts.keepalive,
      ref: b.name,
    });
    a.peers.set(b.name, peer);
    return peer;
  }

  /** Seals `payload` from a to its peer b; a datagram is queued when a session exists. */
  sendData(a: Node, b: Node, payload: Buffer): number {
    const buf = Buffer.alloc(HEADROOM + payload.length + 64);
    payload.copy(buf, HEADROOM);
    const peer = a.peers.get(b.name)!;
    const n = a.dev.seal(peer, buf, HEADROOM, payload.length);
    if (n > 0) {
      const ep = peer.endpoint!; // where seal()'s datagram goes
      this.queue.push({
        from: a.addr,
        fromPort: a.port,
        to: ep.addr,
        toPort: ep.port,
        bytes: Buffer.from(buf.subarray(HEADROOM - 16, HEADROOM - 16 + n)),
      });
    }
    return n;
  }

  /** Delivers one datagram as if it came from `from` (a spoofer may pick any address). */
  deliver(d: Datagram): number {
    const node = this.nodes.get(d.to);
    if (!node) return -2;
    const buf = Buffer.alloc(d.bytes.length + 32);
    d.bytes.copy(buf, 16);
    const r = node.dev.receive(buf, 16, d.bytes.length, d.from, d.fromPort);
    if (r >= 0) node.delivered.push(Buffer.from(buf.subarray(r, r + node.dev.rxLen)));
    return r;
  }

  /** Delivers queued datagrams until the queue is empty; `keep` may drop (false) or inspect one. */
  pump(keep: (d: Datagram) => boolean = () => true, max = 1000): Datagram[] {
    const seen: Datagram[] = [];
    for (let i = 0; i < max && this.queue.length > 0; i++) {
      const d = this.queue.shift()!;
      seen.push(d);
      if (keep(d)) this.deliver(d);
    }
    return seen;
  }
}

export const packet = (n: number, fill = 0x45): Buffer => {
  const b = crypto.randomBytes(n);
  b[0] = fill;
  return b;
};
