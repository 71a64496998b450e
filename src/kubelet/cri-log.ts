// Container log files in the CRI format the real kubelet reads (one entry a line):
//   2026-12-01T10:00:00.123456789Z stdout F the line
// (`F` a full line, `P` a partial one continued by the next entry). LineWriter turns a byte stream into
// entries; parseCriLine reads one back. Nothing here throws on bad input: parseCriLine returns undefined.

export type Stream = 'stdout' | 'stderr';

export interface CriEntry {
  time: string;
  stream: Stream;
  partial: boolean;
  text: string;
}

/** RFC 3339 with nanoseconds, as CRI runtimes write it (milliseconds padded). */
export function criTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export function formatCriLine(e: CriEntry): string {
  return `${e.time} ${e.stream} ${e.partial ? 'P' : 'F'} ${e.text}\n`;
}

export function parseCriLine(line: string): CriEntry | undefined {
  const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s.exec(line);
  if (!m) return undefined;
  return { time: m[1], stream: m[2] as Stream, partial: m[3] === 'P', text: m[4] };
}

/** Buffers one stream's bytes into CRI entries; long lines are split into partial entries. */
export class LineWriter {
  private pending = '';

  constructor(
    private readonly stream: Stream,
    private readonly emit: (line: string) => void,
    private readonly now: () => Date = () => new Date(),
    private readonly maxLine = 16 * 1024,
  ) {}

  write(chunk: string): void {
    this.pending += chunk;
    for (;;) {
      const nl = this.pending.indexOf('\n');
      if (nl < 0) break;
      this.out(this.pending.slice(0, nl).replace(/\r$/, ''), false);
      this.pending = this.pending.slice(nl + 1);
    }
    while (this.pending.length > this.maxLine) {
      this.out(this.pending.slice(0, this.maxLine), true);
      this.pending = this.pending.slice(this.maxLine);
    }
  }

  /** Writes what is left as a partial entry (the stream ended without a newline). */
  end(): void {
    if (this.pending.length > 0) this.out(this.pending, true);
    this.pending = '';
  }

  private out(text: string, partial: boolean): void {
    this.emit(formatCriLine({ time: criTime(this.now()), stream: this.stream, partial, text }));
  }
}
