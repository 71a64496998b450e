// A live capture of one node's capture point, as a handle for tests: the node streams pcap over
// its control socket (the `capture` request that `flannelette capture` makes); the handle writes
// the stream to a pcap file as it arrives and decodes each record (packets.ts) for `packets()`.
// `stop()` ends the capture and resolves with the file's path and the count; iterators then end.
// Bounded: at most `maxQueued` decoded packets wait for a slow reader; older ones are dropped and
// counted (`dropped`). Opening throws RpcError (the node refused: a bad filter is code ConfigError)
// or DeviceError/ConfigError when the socket does not answer. The decoded packets belong to the caller.
import fs from 'node:fs';
import type net from 'node:net';
import { PcapStreamParser } from '../capture/pcap-stream.js';
import { rpcOpenStream } from '../util/rpc.js';
import { decodePacket, type DecodedPacket } from './packets.js';

/** The capture points of a node: pod packets at the TUN device, or encapsulated datagrams on the underlay. */
export type CapturePoint = 'inner' | 'outer';

/** Options of `lab.capture()` / `node.capture()`. */
export interface CaptureOptions {
  /** Filter on the inner packet: `host A`, `net CIDR`, `proto icmp|tcp|udp`, `port N`, joined by `and`. */
  filter?: string;
  /** Bytes kept of each packet. */
  snaplen?: number;
  /** Where to write the pcap (default a new file in the OS temporary directory). */
  file?: string;
  /** Decoded packets kept for a reader that falls behind (default 10000). */
  maxQueued?: number;
}

/** What `stop()` resolves with. */
export interface CaptureResult {
  /** The pcap file (classic pcap, nanosecond timestamps; tshark and Wireshark read it). */
  path: string;
  /** Packets written to the file. */
  packets: number;
}

/** A running capture: iterate `packets()`, then `stop()`. Also `AsyncDisposable`. */
export class Capture implements AsyncDisposable {
  /** The pcap file being written. */
  readonly path: string;
  /** Decoded packets dropped because no reader took them in time. */
  dropped = 0;
  private count = 0;
  private readonly queue: DecodedPacket[] = [];
  private readonly waiters: Array<() => void> = [];
  private ended = false;
  private result?: Promise<CaptureResult>;

  private constructor(
    private readonly socket: net.Socket,
    private readonly out: fs.WriteStream,
    private readonly maxQueued: number,
  ) {
    this.path = out.path as string;
    let linktype = 1;
    const parser = new PcapStreamParser({
      onHeader: (h) => (linktype = h.linktype),
      onRecord: (r) => {
        this.count++;
        if (this.queue.length >= this.maxQueued) {
          this.queue.shift();
          this.dropped++;
        }
        this.queue.push(decodePacket(r.data, linktype, r.tsNs, r.origLen));
        this.wake();
      },
    });
    socket.on('data', (chunk: Buffer) => {
      out.write(chunk);
      parser.push(chunk);
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
    socket.resume();
  }

  /** Starts a capture on the node whose control socket is `socketPath`. */
  static async open(socketPath: string, point: CapturePoint, opts: CaptureOptions = {}): Promise<Capture> {
    const params = {
      point,
      filter: opts.filter,
      snaplen: opts.snaplen === undefined ? undefined : String(opts.snaplen),
    };
    const { socket } = await rpcOpenStream(socketPath, 'capture', params);
    const file =
      opts.file ??
      fs.mkdtempSync(`${fs.realpathSync(process.env['TMPDIR'] ?? '/tmp')}/flt-capture-`) + `/${point}.pcap`;
    return new Capture(socket, fs.createWriteStream(file), opts.maxQueued ?? 10_000);
  }

  /** Packets written so far. */
  get packetCount(): number {
    return this.count;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The decoded packets as they arrive; ends after `stop()` (or when the node goes away). */
  async *packets(): AsyncGenerator<DecodedPacket, void, undefined> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The first packet matching `predicate`, or undefined when the capture ends first. */
  async find(predicate: (p: DecodedPacket) => boolean): Promise<DecodedPacket | undefined> {
    for await (const p of this.packets()) if (predicate(p)) return p;
    return undefined;
  }

  /** Ends the capture; resolves once the pcap file is complete. Idempotent. */
  stop(): Promise<CaptureResult> {
    this.result ??= new Promise<CaptureResult>((resolve) => {
      this.socket.destroy();
      this.ended = true;
      this.wake();
      this.out.end(() => resolve({ path: this.path, packets: this.count }));
    });
    return this.result;
  }

  /** `await using cap = await lab.capture(...)` stops it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
