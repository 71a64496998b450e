// An Underlay wrapper for data path tests: passes everything through and remembers, for every
// datagram received, the sender's address and UDP source port and the payload length — what the
// receiving node's socket sees.
import type { DatagramBatch, Underlay } from '../../src/underlay/underlay.js';

export interface SeenDatagram {
  addr: number;
  port: number;
  len: number;
}

export class UnderlaySpy implements Underlay {
  readonly received: SeenDatagram[] = [];
  constructor(private readonly inner: Underlay) {}
  /** The source ports of the datagrams received, in order. */
  get seen(): number[] {
    return this.received.map((d) => d.port);
  }
  get localAddr(): number {
    return this.inner.localAddr;
  }
  get localPort(): number {
    return this.inner.localPort;
  }
  start(onBatch: (batch: DatagramBatch) => void): void {
    this.inner.start((b) => {
      for (let i = 0; i < b.count; i++) this.received.push({ addr: b.addrs[i]!, port: b.ports[i]!, len: b.lens[i]! });
      onBatch(b);
    });
  }
  send(buf: Buffer, off: number, len: number, addr: number, port: number, srcPort?: number): boolean {
    return this.inner.send(buf, off, len, addr, port, srcPort);
  }
  flush(): void {
    this.inner.flush();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
