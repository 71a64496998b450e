// Container logs as the kubelet serves them (GET /containerLogs): the CRI log file of a container start
// turned back into the program's output, with kubectl's options — tailLines, timestamps (RFC 3339 with
// nanoseconds before each line), sinceSeconds, limitBytes, and follow (keep sending new lines until the
// container stops or the client goes away). streamLog never throws; a missing file is an empty log.
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { parseCriLine } from './cri-log.js';

export interface LogOptions {
  follow?: boolean;
  timestamps?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  limitBytes?: number;
}

export function parseLogOptions(q: URLSearchParams): LogOptions & { previous: boolean } {
  const flag = (k: string): boolean => q.get(k) === 'true' || q.get(k) === '1';
  const num = (k: string): number | undefined => {
    const v = q.get(k);
    return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  return {
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    tailLines: num('tailLines'),
    sinceSeconds: num('sinceSeconds'),
    limitBytes: num('limitBytes'),
  };
}

/** Renders CRI log text (whole lines) as output text. */
export function renderLog(text: string, opts: LogOptions, nowMs = Date.now()): string {
  let entries = text
    .split('\n')
    .filter(Boolean)
    .map(parseCriLine)
    .filter((e) => e !== undefined);
  if (opts.sinceSeconds !== undefined) {
    const since = nowMs - opts.sinceSeconds * 1000;
    entries = entries.filter((e) => Date.parse(e.time) >= since);
  }
  if (opts.tailLines !== undefined) {
    // count whole lines: an F entry ends one
    let lines = 0;
    let start = entries.length;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (!entries[i].partial) {
        if (lines === opts.tailLines) break;
        lines++;
      }
      start = i;
    }
    entries = opts.tailLines === 0 ? [] : entries.slice(start);
  }
  let out = '';
  let lineStart = true;
  for (const e of entries) {
    if (opts.timestamps && lineStart) out += `${e.time} `;
    out += e.text + (e.partial ? '' : '\n');
    lineStart = !e.partial;
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes the log to `out`; with follow, keeps going while `running()` says the container runs. */
export async function streamLog(file: string, opts: LogOptions, running: () => boolean, out: Writable): Promise<void> {
  let closed = false;
  out.on('close', () => (closed = true));
  let sent = 0;
  const write = (text: string): boolean => {
    if (!text) return true;
    if (opts.limitBytes !== undefined) {
      const room = opts.limitBytes - sent;
      if (room <= 0) return false;
      if (Buffer.byteLength(text) > room) text = Buffer.from(text).subarray(0, room).toString('utf8');
    }
    sent += Buffer.byteLength(text);
    out.write(text);
    return opts.limitBytes === undefined || sent < opts.limitBytes;
  };
  let pos = 0;
  const readNew = (first: boolean): boolean => {
    let text = '';
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size > pos) {
          const buf = Buffer.alloc(size - pos);
          fs.readSync(fd, buf, 0, buf.length, pos);
          text = buf.toString('utf8');
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return true;
    }
    const complete = text.lastIndexOf('\n') + 1;
    pos += Buffer.byteLength(text.slice(0, complete));
    const chunk = text.slice(0, complete);
    return write(
      first ? renderLog(chunk, opts) : renderLog(chunk, { ...opts, tailLines: undefined, sinceSeconds: undefined }),
    );
  };
  if (!readNew(true) || !opts.follow) return;
  while (!closed) {
    const wasRunning = running();
    if (!readNew(false)) return;
    if (!wasRunning) return;
    await sleep(200);
  }
}
