// ImpairedUnderlay: link emulation on the send side of an Underlay, per destination peer (what
// `tc netem` would do, but in userspace and keyed by overlay peer). It wraps an inner Underlay;
// receiving passes straight through (a link impaired both ways is configured on both nodes).
//
// Per packet to an impaired peer, in this order (netem's order where netem has one):
//   partition → drop (droppedPartition); loss, independent or Gilbert-Elliott → drop (droppedLoss);
//   duplicate → a second copy (duplicated); then for each copy: corrupt → one random bit of the UDP
//   payload flipped in a copy, never in the caller's buffer (corrupted); reorder → sent at once,
//   skipping delay, jitter and the rate queue, as netem (reordered); otherwise the copy waits for
//   the token bucket (rate, counting the UDP payload bytes it is given — the outer UDP/IP headers
//   are not counted; rateLimited when it had to wait) and then for delay + jitter (delayed).
// Held copies leave in order of due time. Jitter does NOT reorder by default: a copy is never due
// before the previous copy to the same peer (a FIFO link; dense traffic may then see a little more
// than delay + jitter). With spec.jitterReorders, copies leave in pure due-time order, as netem does.
// The queue limit counts every copy held for a peer (waiting for the rate or for its delay), as
// netem's limit does; beyond it a copy is dropped (droppedQueue) and send() returns false.
// The same seed, spec and sequence of sends give the same drops, duplicates and delays.
//
// send() returns true when the link accepted the datagram, including when the emulated link then
// loses it (the sender cannot see that); false on a queue overflow or when inner.send refused it.
// Throws: setDefault/setForPeer throw ConfigError for an invalid spec; send never throws.
// Buffer ownership: send() copies whatever it holds or changes; the caller's buffer is never kept
// nor modified. Batches handed to the receive handler are the inner underlay's. Over a dual-stack
// underlay (dataplane/dual-underlay.ts) a peer's impairment acts on its IPv4 and IPv6 datagrams alike. A datagram's
// srcPort travels with it (held copies keep it) to inner.send; choosesSrcPort is the inner's.
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { MAX_PACKET } from '../util/buffers.js';
import type { DatagramBatch, Ipv6Paths, Underlay } from '../underlay/underlay.js';
import {
  emptyImpairment,
  impairmentToJson,
  isNoopImpairment,
  MAX_QUEUE_PACKETS,
  validateImpairment,
  type ImpairmentSpec,
} from './spec.js';
import { sampleDelay } from './random.js';
import { zeroCounters, type ImpairConfig, type ImpairCounters } from './counters.js';
import { HeldPool } from './queue.js';
import { applyLinkSpec, newPeerLink, type PeerLink } from './peer-link.js';
import { tokenBucketDeparture } from './token-bucket.js';

export { zeroCounters, type ImpairConfig, type ImpairCounters } from './counters.js';

export interface ImpairedUnderlayOptions {
  inner: Underlay;
  clock: Clock;
  rng: Rng;
}

/** Held copies due within this many ms of now are sent (absorbs floating-point rounding of timer times). */
const DUE_EPSILON_MS = 1e-6;

export class ImpairedUnderlay implements Underlay {
  private readonly inner: Underlay;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly links = new Map<number, PeerLink>();
  private readonly peerSpecs = new Map<number, ImpairmentSpec>();
  private readonly partitionedPeers = new Set<number>();
  private defaultSpec: ImpairmentSpec | undefined;
  private partitionAll = false;
  /** True when peers without their own link are impaired too (a default spec or partition()). */
  private hasDefault = false;
  private readonly pool = new HeldPool();
  private scratch: Buffer | undefined;
  private seq = 0;
  private closed = false;

  constructor(opts: ImpairedUnderlayOptions) {
    this.inner = opts.inner;
    this.clock = opts.clock;
    this.rng = opts.rng;
  }

  get localAddr(): number {
    return this.inner.localAddr;
  }
  /** A dual-stack inner's IPv6 side: the impairments act on its datagrams too (keyed by the peer's PublicIP). */
  get ipv6(): Ipv6Paths | undefined {
    return this.inner.ipv6;
  }

  get localPort(): number {
    return this.inner.localPort;
  }

  get choosesSrcPort(): boolean {
    return this.inner.choosesSrcPort === true;
  }

  sourcePortFor(srcPort: number): number {
    return this.inner.sourcePortFor?.(srcPort) ?? srcPort;
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    this.inner.start(onBatch);
  }

  flush(): void {
    this.inner.flush();
  }

  // ------------------------------------------------------------------------------------------
  // Configuration

  /** Impairs every peer that has no spec of its own; undefined removes the default. */
  setDefault(spec: ImpairmentSpec | undefined): void {
    this.defaultSpec = spec === undefined ? undefined : validateImpairment(spec);
    this.reconfigure();
  }

  /** Gives one peer its own spec, replacing (not merging with) the default; undefined reverts to the default. */
  setForPeer(addr: number, spec: ImpairmentSpec | undefined): void {
    addr >>>= 0;
    if (spec === undefined) this.peerSpecs.delete(addr);
    else this.peerSpecs.set(addr, validateImpairment(spec));
    this.reconfigure();
  }

  /** Removes every spec and partition. Copies already held still leave on schedule. */
  clear(): void {
    this.defaultSpec = undefined;
    this.peerSpecs.clear();
    this.partitionedPeers.clear();
    this.partitionAll = false;
    this.reconfigure();
  }

  /** Cuts the link to one peer, or to every peer when addr is omitted. Other impairments stay configured. */
  partition(addr?: number): void {
    if (addr === undefined) this.partitionAll = true;
    else this.partitionedPeers.add(addr >>> 0);
    this.reconfigure();
  }

  /**
   * Undoes partition(addr) and clears `partition` in that peer's own spec. heal() with no address
   * lifts every partition: partition(), partition(addr) and `partition` in any spec.
   */
  heal(addr?: number): void {
    const unpartition = (s: ImpairmentSpec): ImpairmentSpec => (s.partition ? { ...s, partition: false } : s);
    if (addr === undefined) {
      this.partitionAll = false;
      this.partitionedPeers.clear();
      if (this.defaultSpec) this.defaultSpec = unpartition(this.defaultSpec);
      for (const [a, s] of this.peerSpecs) this.peerSpecs.set(a, unpartition(s));
    } else {
      addr >>>= 0;
      this.partitionedPeers.delete(addr);
      const s = this.peerSpecs.get(addr);
      if (s) this.peerSpecs.set(addr, unpartition(s));
    }
    this.reconfigure();
  }

  /** The configured specs (plain JSON, copies). */
  config(): ImpairConfig {
    return {
      default: this.defaultSpec && impairmentToJson(this.defaultSpec),
      peers: [...this.peerSpecs].map(([addr, spec]) => ({ addr, spec: impairmentToJson(spec) })),
      partitionAll: this.partitionAll,
      partitioned: [...this.partitionedPeers],
    };
  }

  /** What applies to packets sent to addr now (partitions folded in); undefined = not impaired. */
  effective(addr: number): ImpairmentSpec | undefined {
    const spec = this.effectiveSpec(addr >>> 0);
    return spec && impairmentToJson(spec);
  }

  /** Totals and per-peer counts, for every peer that has been impaired at some point. */
  counters(): { total: ImpairCounters; peers: Array<{ addr: number; counters: ImpairCounters }> } {
    const total = zeroCounters();
    const peers: Array<{ addr: number; counters: ImpairCounters }> = [];
    for (const link of this.links.values()) {
      const c = link.counters;
      for (const k of Object.keys(total) as Array<keyof ImpairCounters>) total[k] += c[k];
      peers.push({ addr: link.addr, counters: { ...c } });
    }
    return { total, peers };
  }

  /** Copies currently held for addr (waiting for the rate or their delay). */
  heldCount(addr?: number): number {
    if (addr !== undefined) return this.links.get(addr >>> 0)?.heap.size ?? 0;
    let n = 0;
    for (const link of this.links.values()) n += link.heap.size;
    return n;
  }

  private effectiveSpec(addr: number): ImpairmentSpec | undefined {
    const base = this.peerSpecs.get(addr) ?? this.defaultSpec;
    const cut = this.partitionAll || this.partitionedPeers.has(addr);
    if (base === undefined && !cut) return undefined;
    let spec = base ?? emptyImpairment();
    if (cut && !spec.partition) spec = { ...spec, partition: true };
    return isNoopImpairment(spec) ? undefined : spec;
  }

  private reconfigure(): void {
    this.hasDefault = this.partitionAll || (this.defaultSpec !== undefined && !isNoopImpairment(this.defaultSpec));
    for (const addr of this.peerSpecs.keys()) if (!this.links.has(addr)) this.createLink(addr);
    for (const addr of this.partitionedPeers) if (!this.links.has(addr)) this.createLink(addr);
    for (const link of this.links.values()) this.applySpec(link, this.effectiveSpec(link.addr));
  }

  private createLink(addr: number): PeerLink {
    const link = newPeerLink(addr);
    this.links.set(addr, link);
    this.applySpec(link, this.effectiveSpec(addr));
    return link;
  }

  /** Installs a new effective spec; the loss chain and token bucket restart, held copies stay. */
  private applySpec(link: PeerLink, spec: ImpairmentSpec | undefined): void {
    applyLinkSpec(link, spec, this.rng, this.clock.now());
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean {
    const link = this.links.get(addr);
    if (link === undefined) {
      if (!this.hasDefault) return this.inner.send(buf, off, len, addr, port, srcPort);
      if (this.closed) return false;
      return this.impairedSend(this.createLink(addr >>> 0), buf, off, len, addr, port, srcPort);
    }
    if (link.spec === undefined) return this.inner.send(buf, off, len, addr, port, srcPort);
    return this.impairedSend(link, buf, off, len, addr, port, srcPort);
  }

  private impairedSend(
    link: PeerLink,
    buf: Buffer,
    off: number,
    len: number,
    addr: number,
    port: number,
    srcPort: number | undefined,
  ): boolean {
    const spec = link.spec;
    if (spec === undefined) return this.inner.send(buf, off, len, addr, port, srcPort);
    if (this.closed) return false;
    const c = link.counters;
    if (spec.partition) {
      c.droppedPartition++;
      return true;
    }
    const rng = this.rng;
    const lost = link.ge !== null ? link.ge.lost() : spec.loss > 0 && rng.next() < spec.loss;
    if (lost) {
      c.droppedLoss++;
      return true;
    }
    const duplicate = spec.duplicate > 0 && rng.next() < spec.duplicate;
    const ok = this.sendCopy(link, spec, buf, off, len, addr, port, srcPort);
    if (duplicate) {
      c.duplicated++;
      this.sendCopy(link, spec, buf, off, len, addr, port, srcPort);
    }
    return ok;
  }

  private sendCopy(
    link: PeerLink,
    spec: ImpairmentSpec,
    buf: Buffer,
    off: number,
    len: number,
    addr: number,
    port: number,
    srcPort: number | undefined,
  ): boolean {
    const c = link.counters;
    const rng = this.rng;
    const corrupt = spec.corrupt > 0 && len > 0 && rng.next() < spec.corrupt;
    const reorder = spec.reorder > 0 && rng.next() < spec.reorder;
    if (reorder || !link.scheduled) {
      if (reorder) c.reordered++;
      if (!corrupt) return this.deliver(link, buf, off, len, addr, port, srcPort);
      const scratch = (this.scratch ??= Buffer.allocUnsafeSlow(MAX_PACKET));
      buf.copy(scratch, 0, off, off + len);
      this.flipBit(scratch, 0, len);
      c.corrupted++;
      return this.deliver(link, scratch, 0, len, addr, port, srcPort);
    }

    const heap = link.heap;
    const q = spec.queue;
    if (heap.size >= MAX_QUEUE_PACKETS || (q.unit === 'packets' ? heap.size >= q.limit : heap.bytes + len > q.limit)) {
      c.droppedQueue++;
      return false;
    }
    const now = this.clock.now();
    let depart = now;
    if (link.bytesPerMs > 0) {
      depart = tokenBucketDeparture(link, spec.burstBytes, now, len);
      if (depart > now) c.rateLimited++;
    }
    let due = depart + sampleDelay(rng, spec.delayMs, spec.jitterMs, spec.distribution);
    if (!spec.jitterReorders && due < link.lastDue) due = link.lastDue;
    if (due > link.lastDue) link.lastDue = due;

    const held = this.pool.take(buf, off, len);
    if (corrupt) {
      this.flipBit(held.buf, 0, len);
      c.corrupted++;
    }
    held.addr = addr;
    held.port = port;
    held.srcPort = srcPort ?? 0;
    held.due = due;
    held.seq = this.seq++;
    heap.push(held);
    c.delayed++;
    this.arm(link);
    return true;
  }

  private flipBit(buf: Buffer, off: number, len: number): void {
    const bit = Math.floor(this.rng.next() * len * 8);
    buf[off + (bit >>> 3)] ^= 1 << (bit & 7);
  }

  private deliver(
    link: PeerLink,
    buf: Buffer,
    off: number,
    len: number,
    addr: number,
    port: number,
    srcPort: number | undefined,
  ): boolean {
    if (this.inner.send(buf, off, len, addr, port, srcPort)) {
      link.counters.sent++;
      return true;
    }
    link.counters.droppedInner++;
    return false;
  }

  /** Makes sure a timer is set for the earliest held copy of this link. */
  private arm(link: PeerLink): void {
    const head = link.heap.peek();
    if (head === undefined || this.closed) return;
    if (link.timer !== undefined) {
      if (link.timerAt <= head.due) return;
      this.clock.clearTimeout(link.timer);
    }
    link.timerAt = head.due;
    link.timer = this.clock.setTimeout(() => this.fire(link), head.due - this.clock.now());
  }

  /** Sends every copy of this link that is due, flushes the inner underlay, re-arms. */
  private fire(link: PeerLink): void {
    link.timer = undefined;
    if (this.closed) return;
    const limit = this.clock.now() + DUE_EPSILON_MS;
    const heap = link.heap;
    let sent = 0;
    for (let head = heap.peek(); head !== undefined && head.due <= limit; head = heap.peek()) {
      heap.pop();
      if (link.spec?.partition) link.counters.droppedPartition++;
      else this.deliver(link, head.buf, 0, head.len, head.addr, head.port, head.srcPort);
      this.pool.release(head);
      sent++;
    }
    if (sent > 0) this.inner.flush();
    this.arm(link);
  }

  /** Cancels timers, drops held copies, closes the inner underlay. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const link of this.links.values()) {
        if (link.timer !== undefined) this.clock.clearTimeout(link.timer);
        link.timer = undefined;
        link.heap.drain(this.pool);
      }
    }
    await this.inner.close();
  }
}
