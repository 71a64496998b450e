// The file output of a capture sink (sink.ts has the ring and the drain loop): `<base>.pcap`, with
// rotation — when the next record would make the file larger than maxBytes, the file is closed and
// the next one is `<base>.1.pcap`, `<base>.2.pcap`, …; each starts with its own pcap header. Stale
// rotated files of an earlier run are removed when the sink opens. openFileSink rejects with
// DeviceError when the file cannot be created.
import { close as fsClose, existsSync, open as fsOpen, unlinkSync, write as fsWrite } from 'node:fs';
import { ConfigError, DeviceError } from '../util/errors.js';
import { PCAP_FILE_HEADER_LEN, pcapFileHeader } from './pcap.js';
import { RingSink, type SinkOptions } from './sink.js';

export interface FileSinkOptions extends SinkOptions {
  /** Start a new file before one would grow past this many bytes (default: no rotation). */
  maxBytes?: number | null;
}

function openFile(path: string): Promise<number> {
  return new Promise((resolve, reject) => fsOpen(path, 'w', 0o644, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function closeFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsClose(fd, (err) => (err ? reject(err) : resolve())));
}

function writeAll(fd: number, buf: Buffer, off: number, len: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (o: number, l: number): void => {
      fsWrite(fd, buf, o, l, null, (err, n) => {
        if (err) reject(err);
        else if (n < l) step(o + n, l - n);
        else resolve();
      });
    };
    step(off, len);
  });
}

/** `<base>.pcap` for index 0, then `<base>.1.pcap`, `<base>.2.pcap`, … (base: the path without `.pcap`). */
export function rotatedPath(path: string, index: number): string {
  if (index === 0) return path;
  const base = path.endsWith('.pcap') ? path.slice(0, -'.pcap'.length) : path;
  return `${base}.${index}.pcap`;
}

export class FileCaptureSink extends RingSink {
  private fd = -1;
  private index = 0;
  private fileBytes = 0;
  private fileRecords = 0;
  private readonly header: Buffer;
  private readonly maxBytes: number | null;

  /** Use openFileSink (it creates the first file). */
  constructor(
    readonly path: string,
    opts: FileSinkOptions,
  ) {
    super(opts);
    const max = opts.maxBytes ?? null;
    if (max !== null && !(max > 0)) throw new ConfigError(`capture file size limit must be positive, got ${max}`);
    this.maxBytes = max;
    this.header = pcapFileHeader(this.linktype, this.snaplen);
  }

  /** The path of the file being written now. */
  get currentPath(): string {
    return rotatedPath(this.path, this.index);
  }

  /** Opens `path` (truncating it) and writes the pcap header. */
  async start(): Promise<void> {
    for (let i = 1; existsSync(rotatedPath(this.path, i)); i++) unlinkSync(rotatedPath(this.path, i));
    await this.openCurrent();
  }

  private async openCurrent(): Promise<void> {
    const path = this.currentPath;
    try {
      this.fd = await openFile(path);
      this.counters.files++;
      this.fileBytes = PCAP_FILE_HEADER_LEN;
      this.fileRecords = 0;
      await writeAll(this.fd, this.header, 0, PCAP_FILE_HEADER_LEN);
    } catch (err) {
      throw new DeviceError(`cannot write capture file ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.counters.bytesWritten += PCAP_FILE_HEADER_LEN;
  }

  protected override fits(bytes: number, recordsBefore: number): boolean {
    return this.maxBytes === null || this.fileBytes + bytes <= this.maxBytes || this.fileRecords + recordsBefore === 0;
  }

  protected override async rotate(): Promise<void> {
    const fd = this.fd;
    this.fd = -1;
    await closeFile(fd);
    this.index++;
    await this.openCurrent();
  }

  protected override output(chunk: Buffer): Promise<void> {
    return writeAll(this.fd, chunk, 0, chunk.length);
  }

  protected override afterChunk(bytes: number, records: number): void {
    this.fileBytes += bytes;
    this.fileRecords += records;
  }

  protected override async finish(): Promise<void> {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    await closeFile(fd);
  }
}

/** Creates a file sink writing `path` (see the module comment for rotation). */
export async function openFileSink(path: string, opts: FileSinkOptions): Promise<FileCaptureSink> {
  const sink = new FileCaptureSink(path, opts);
  try {
    await sink.start();
  } catch (err) {
    await sink.close(); // closes the descriptor if the file was opened
    throw err;
  }
  return sink;
}
