// A tiny recording Underlay for the impairment tests: every send is kept (a copy of the bytes, the
// destination and the virtual time), flushes are counted, and it can be told to refuse sends.
import type { Clock } from '../../../src/util/clock.js';
import type { DatagramBatch, Underlay } from '../../../src/underlay/underlay.js';

export interface SentRecord {
  t: number;
  addr: number;
  port: number;
  bytes: Buffer;
}

export class RecordingUnderlay implements Underlay {
  readonly localAddr = 0x0a000001;
  readonly localPort = 8472;
  readonly sent: SentRecord[] = [];
  flushes = 0;
  closed = false;
  refuse = false;
  handler: ((batch: DatagramBatch) => void) | undefined;

  constructor(private readonly clock: Clock) {}

  start(onBatch: (batch: DatagramBatch) => void): void {
    this.handler = onBatch;
  }

  send(buf: Buffer, off: number, len: number, addr: number, port: number): boolean {
    if (this.refuse) return false;
    this.sent.push({ t: this.clock.now(), addr, port, bytes: Buffer.from(buf.subarray(off, off + len)) });
    return true;
  }

  flush(): void {
    this.flushes++;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  to(addr: number): SentRecord[] {
    return this.sent.filter((s) => s.addr === addr);
  }
}

/** A datagram whose first 4 bytes carry a sequence number (big-endian) and the rest a fill byte. */
export function numbered(seq: number, len = 100, fill = 0xab): Buffer {
  const b = Buffer.alloc(len, fill);
  b.writeUInt32BE(seq >>> 0, 0);
  return b;
}

export function seqOf(bytes: Buffer): number {
  return bytes.readUInt32BE(0);
}
