// The last packets of one capture point, for the live page: a live capture over the node's control
// socket (started on the first request for that point), each packet kept as its header lines
// (wireshark/summary.ts) in a ring of the last `keep`. A point nobody asked about for `idleMs` is
// closed. Bounded: at most `maxPoints` captures at once (the oldest is closed). Never throws for a
// node that does not answer: the reply says so.
import type net from 'node:net';
import { PcapStreamParser } from '../capture/pcap-stream.js';
import { controlSocket, labPaths } from '../lab/state.js';
import { oneLine } from '../util/errors.js';
import { rpcOpenStream } from '../util/rpc.js';
import { summarize } from '../wireshark/summary.js';

export interface SeenPacket {
  /** Unix ms (fractional). */
  t: number;
  len: number;
  headers: string[];
}

export interface PointPackets {
  point: string;
  packets: SeenPacket[];
  error?: string;
}

interface Watch {
  socket?: net.Socket;
  ring: SeenPacket[];
  lastAsked: number;
  error?: string;
}

export class PacketWatcher {
  private readonly watches = new Map<string, Watch>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly lab: string,
    private readonly nodes: string[],
    private readonly opts: { root?: string; keep?: number; idleMs?: number; maxPoints?: number } = {},
  ) {
    this.timer = setInterval(() => this.expire(), 1000);
    this.timer.unref();
  }

  /** The last packets of `point` (`node/inner` or `node/outer`), starting its capture if needed. */
  async get(point: string): Promise<PointPackets> {
    const [node, kind] = point.split('/');
    if (!node || !this.nodes.includes(node) || (kind !== 'inner' && kind !== 'outer'))
      return { point, packets: [], error: `no capture point ${point}` };
    let w = this.watches.get(point);
    if (!w) {
      w = { ring: [], lastAsked: Date.now() };
      this.watches.set(point, w);
      this.limit();
      await this.start(point, node, kind, w);
    }
    w.lastAsked = Date.now();
    return { point, packets: [...w.ring].reverse(), error: w.error };
  }

  close(): void {
    clearInterval(this.timer);
    for (const w of this.watches.values()) w.socket?.destroy();
    this.watches.clear();
  }

  private async start(point: string, node: string, kind: 'inner' | 'outer', w: Watch): Promise<void> {
    const keep = this.opts.keep ?? 50;
    try {
      const { socket } = await rpcOpenStream(controlSocket(labPaths(this.lab, this.opts.root), node), 'capture', {
        point: kind,
        snaplen: 512,
      });
      w.socket = socket;
      const linktype = kind === 'inner' ? 101 : 1;
      const parser = new PcapStreamParser({
        onRecord: (r) => {
          w.ring.push({
            t: Number(r.tsNs / 1000n) / 1000,
            len: r.origLen,
            headers: summarize(r.data, linktype).headers,
          });
          if (w.ring.length > keep) w.ring.shift();
        },
      });
      socket.on('data', (c: Buffer) => parser.push(c));
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        if (this.watches.get(point) === w) this.watches.delete(point);
      });
      socket.resume();
    } catch (err) {
      w.error = oneLine(err);
      this.watches.delete(point);
    }
  }

  private limit(): void {
    const max = this.opts.maxPoints ?? 4;
    while (this.watches.size > max) {
      const oldest = [...this.watches.entries()].sort((a, b) => a[1].lastAsked - b[1].lastAsked)[0];
      oldest[1].socket?.destroy();
      this.watches.delete(oldest[0]);
    }
  }

  private expire(): void {
    const idle = this.opts.idleMs ?? 20_000;
    for (const [point, w] of this.watches) {
      if (Date.now() - w.lastAsked > idle) {
        w.socket?.destroy();
        this.watches.delete(point);
      }
    }
  }
}
