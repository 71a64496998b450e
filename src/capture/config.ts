// Node capture flags → a CaptureConfig, and the file sinks (and taps) it describes:
//   --capture inner,outer     capture points, either or both (comma-separated; repeatable)
//   --pcap-dir DIR            where the files go (default `pcaps`), created if missing
//   --capture-snaplen N       bytes kept of each packet, 1..262144 (default 262144)
//   --capture-max-mb N        start a new file before one grows past N MiB (default: no limit);
//                             files are <node>-<point>.pcap, then <node>-<point>.1.pcap, .2.pcap, …
//   --capture-filter EXPR     see filter.ts, e.g. `host 10.244.1.2 and proto icmp`
// Files are `<dir>/<node>-inner.pcap` (LINKTYPE_RAW) and `<dir>/<node>-outer.pcap` (Ethernet).
//
// parseCaptureConfig throws ConfigError naming the bad flag. openCaptureFiles throws ConfigError for
// a bad node name and DeviceError when the directory or a file cannot be created (after closing
// whatever it had opened).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../util/clock.js';
import { ConfigError, DeviceError } from '../util/errors.js';
import type { TunDevice } from '../tun/device.js';
import type { Underlay } from '../underlay/underlay.js';
import { MATCH_ALL, parseCaptureFilter, type CaptureFilter } from './filter.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcap.js';
import { DEFAULT_SNAPLEN, openFileSink, type CaptureStats, type FileCaptureSink } from './sink.js';
import type { BackendName } from '../backend/table.js';
import { tapTun, tapUnderlay, type TappedTun, type TappedUnderlay } from './taps.js';

export type CapturePoint = 'inner' | 'outer';

export const DEFAULT_PCAP_DIR = 'pcaps';

export interface CaptureConfig {
  /** Points to capture; empty when capture is off. */
  points: CapturePoint[];
  dir: string;
  snaplen: number;
  /** Rotation size in bytes, or null for one unbounded file per point. */
  maxBytes: number | null;
  filter: CaptureFilter;
}

/** The flags as commander hands them over (strings, or numbers when a parser ran). */
export interface CaptureFlags {
  capture?: string | string[];
  pcapDir?: string;
  captureSnaplen?: string | number;
  captureMaxMb?: string | number;
  captureFilter?: string;
}

function parsePoints(value: string | string[] | undefined): CapturePoint[] {
  if (value === undefined) return [];
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((p) => p.trim());
  const points: CapturePoint[] = [];
  for (const p of parts) {
    if (p !== 'inner' && p !== 'outer') throw new ConfigError(`--capture: "${p}" is not a capture point (inner, outer or inner,outer)`);
    if (!points.includes(p)) points.push(p);
  }
  return points;
}

function parseNumber(flag: string, value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new ConfigError(`${flag}: "${value}" is not a number`);
  return n;
}

export function parseCaptureConfig(flags: CaptureFlags): CaptureConfig {
  const points = parsePoints(flags.capture);
  const dir = flags.pcapDir ?? DEFAULT_PCAP_DIR;
  if (dir.trim() === '') throw new ConfigError('--pcap-dir: empty directory name');

  let snaplen = DEFAULT_SNAPLEN;
  if (flags.captureSnaplen !== undefined) {
    snaplen = parseNumber('--capture-snaplen', flags.captureSnaplen);
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > DEFAULT_SNAPLEN) throw new ConfigError(`--capture-snaplen: ${flags.captureSnaplen} is not an integer 1..${DEFAULT_SNAPLEN}`);
  }

  let maxBytes: number | null = null;
  if (flags.captureMaxMb !== undefined) {
    const mb = parseNumber('--capture-max-mb', flags.captureMaxMb);
    if (!(mb > 0)) throw new ConfigError(`--capture-max-mb: ${flags.captureMaxMb} must be more than 0`);
    maxBytes = Math.max(1, Math.round(mb * 1024 * 1024));
  }

  let filter = MATCH_ALL;
  if (flags.captureFilter !== undefined) {
    try {
      filter = parseCaptureFilter(flags.captureFilter);
    } catch (err) {
      throw new ConfigError(`--capture-filter: ${(err as Error).message.replace(/^capture filter: /, '')}`, { cause: err });
    }
  }
  return { points, dir, snaplen, maxBytes, filter };
}

/** The first file of a capture point: `<dir>/<node>-<point>.pcap`. */
export function capturePath(config: CaptureConfig, node: string, point: CapturePoint): string {
  return path.join(config.dir, `${node}-${point}.pcap`);
}

/** The file sinks of one node, and taps bound to them and to the node's clock. */
export interface CaptureFiles {
  readonly inner: FileCaptureSink | null;
  readonly outer: FileCaptureSink | null;
  readonly clock: Clock;
  /** Wraps the TUN device (with the inner sink attached, if any). */
  tapTun(tun: TunDevice): TappedTun;
  /** Wraps the underlay (with the outer sink attached, if any). */
  tapUnderlay(underlay: Underlay, backend: BackendName): TappedUnderlay;
  stats(): { inner: CaptureStats | null; outer: CaptureStats | null };
  /** Flushes and closes both files. */
  close(): Promise<void>;
}

export interface OpenCaptureOptions {
  node: string;
  clock: Clock;
  /** Called when writing a file fails (the sink then drops and counts). */
  onError?: (point: CapturePoint, err: Error) => void;
  /** Queue size of each sink in bytes (default 4 MiB). */
  bufferBytes?: number;
}

/** Creates the directory and the file sinks the config asks for (none when capture is off). */
export async function openCaptureFiles(config: CaptureConfig, opts: OpenCaptureOptions): Promise<CaptureFiles> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.node)) throw new ConfigError(`node name "${opts.node}" cannot name a capture file (letters, digits, . _ -)`);
  let inner: FileCaptureSink | null = null;
  let outer: FileCaptureSink | null = null;
  if (config.points.length > 0) {
    try {
      await fs.mkdir(config.dir, { recursive: true });
    } catch (err) {
      throw new DeviceError(`cannot create capture directory ${config.dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  const open = (point: CapturePoint): Promise<FileCaptureSink> =>
    openFileSink(capturePath(config, opts.node, point), {
      linktype: point === 'inner' ? LINKTYPE_RAW : LINKTYPE_ETHERNET,
      snaplen: config.snaplen,
      maxBytes: config.maxBytes,
      filter: config.filter,
      bufferBytes: opts.bufferBytes,
      onError: opts.onError ? (err) => opts.onError!(point, err) : undefined,
    });
  try {
    if (config.points.includes('inner')) inner = await open('inner');
    if (config.points.includes('outer')) outer = await open('outer');
  } catch (err) {
    await inner?.close();
    throw err;
  }
  const clock = opts.clock;
  return {
    inner,
    outer,
    clock,
    tapTun: (tun) => tapTun(tun, inner, { clock }),
    tapUnderlay: (underlay, backend) => tapUnderlay(underlay, outer, { clock, backend }),
    stats: () => ({ inner: inner?.stats() ?? null, outer: outer?.stats() ?? null }),
    close: async () => {
      await Promise.all([inner?.close(), outer?.close()]);
    },
  };
}
