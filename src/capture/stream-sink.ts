// The stream output of a capture sink (sink.ts has the ring and the drain loop): any Writable (a
// unix-socket connection, a file stream, stdout). The pcap header is written first; each chunk handed
// to the stream is a copy (a stream may keep it); 'drain' is awaited when its buffer is full.
import type { Writable } from 'node:stream';
import { pcapFileHeader } from './pcap.js';
import { RingSink, type SinkOptions } from './sink.js';

export interface StreamSinkOptions extends SinkOptions {
  /** End the stream in close() and wait for it to finish (default false: the caller owns it). */
  end?: boolean;
}

export class StreamCaptureSink extends RingSink {
  private waiter: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private readonly endOnClose: boolean;
  private readonly onGone: (err?: Error) => void;
  private readonly onClose: () => void;
  private readonly onDrain: () => void;
  private readonly onWritten = (): void => {
    this.pendingWrites--;
    if (this.pendingWrites === 0) this.wakeFlushed();
  };
  /** Chunks given to stream.write whose callback has not run yet. */
  private pendingWrites = 0;
  private flushed: (() => void) | null = null;

  constructor(
    private readonly stream: Writable,
    opts: StreamSinkOptions,
  ) {
    super(opts);
    this.endOnClose = opts.end ?? false;
    this.onGone = (err?: Error): void => {
      if (this.closedAndIdle) return;
      const e = err ?? new Error('capture stream closed');
      this.fail(e);
      this.wake(e);
    };
    this.onClose = () => this.onGone();
    this.onDrain = () => this.wake(null);
    stream.on('error', this.onGone);
    stream.on('close', this.onClose);
    stream.on('drain', this.onDrain);
    if (stream.destroyed || stream.writableEnded) {
      this.fail(new Error('capture stream is already closed'));
    } else {
      const header = pcapFileHeader(this.linktype, this.snaplen);
      stream.write(header);
      this.counters.bytesWritten += header.length;
    }
  }

  private wake(err: Error | null): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) {
      if (err) w.reject(err);
      else w.resolve();
    }
    if (err) this.wakeFlushed();
  }

  private wakeFlushed(): void {
    const f = this.flushed;
    this.flushed = null;
    f?.();
  }

  protected override async output(chunk: Buffer): Promise<void> {
    // The stream may keep the chunk after write() returns (a PassThrough does): hand it a copy.
    this.pendingWrites++;
    const ok = this.stream.write(Buffer.from(chunk), this.onWritten);
    if (!ok && !this.error) {
      // Over the stream's high-water mark: wait for 'drain'. Meanwhile packets queue in the ring
      // and are dropped (counted) once it is full.
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
  }

  protected override async finish(): Promise<void> {
    const stream = this.stream;
    if (this.pendingWrites > 0 && !this.error) {
      // Wait until the stream has written out (not just buffered) our last chunk.
      await new Promise<void>((resolve) => {
        this.flushed = resolve;
      });
    }
    if (this.endOnClose && !this.error && !stream.destroyed) {
      stream.off('close', this.onClose);
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.end(() => resolve());
      });
    }
    stream.off('error', this.onGone);
    stream.off('close', this.onClose);
    stream.off('drain', this.onDrain);
    // Keep an error listener so that a late socket error is not an uncaught exception.
    stream.on('error', ignoreError);
  }
}

function ignoreError(): void {}

/** Creates a sink that writes a pcap stream (header first) to `stream`. */
export function createStreamSink(stream: Writable, opts: StreamSinkOptions): StreamCaptureSink {
  return new StreamCaptureSink(stream, opts);
}
