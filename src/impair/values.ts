// The values of impairment fields as the CLI and lab files write them, tc-netem's words and units:
// times (`20ms`, `1.5s`), percentages (`1%`), rates (`10mbit`), sizes and queue limits (`32kb`,
// `1000`), booleans and the Gilbert-Elliott loss model (`gemodel p=1% r=25%`). Used by
// parseImpairment (impair/spec.ts).
//
// Throws: every parser throws ConfigError with one line naming the field and its value
// (`--delay 5parsecs: ...`), and nothing else.
import { ConfigError } from '../util/errors.js';
import type { GilbertElliott, QueueUnit } from './spec.js';

/** Hard bound on held copies per peer, also when the queue is limited in bytes. */
export const MAX_QUEUE_PACKETS = 65536;
export const MAX_QUEUE_BYTES = 1 << 30;
export const MAX_TIME_MS = 3_600_000;
export const MAX_RATE_BITS = 1e12;

export function fail(field: string, value: string, reason: string): never {
  throw new ConfigError(`--${field} ${oneLineValue(value)}: ${reason}`);
}

export function oneLineValue(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return flat.length > 60 ? flat.slice(0, 57) + '...' : flat;
}

const NUMBER = '(\\d+(?:\\.\\d*)?|\\.\\d+)';
const TIME_RE = new RegExp(`^(-?)${NUMBER}\\s*([a-zµ]*)$`, 'i');
const TIME_UNITS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000,
  ms: 1, msec: 1, msecs: 1,
  us: 0.001, usec: 0.001, usecs: 0.001, 'µs': 0.001,
};

/** "20ms", "1.5ms", "2s", "250us", "0" → milliseconds. A bare number other than 0 is refused (tc reads it as µs). */
export function parseTimeMs(field: string, text: string): number {
  const m = TIME_RE.exec(text.trim());
  const example = 'not a time (e.g. 20ms, 1.5ms, 2s)';
  if (!m) fail(field, text, example);
  const [, minus, num, unitRaw] = m;
  const value = Number(num);
  const unit = unitRaw!.toLowerCase();
  if (unit === '') {
    if (value !== 0) fail(field, text, `give a unit (e.g. ${num}ms)`);
    return 0;
  }
  const scale = TIME_UNITS[unit];
  if (scale === undefined) fail(field, text, example);
  if (minus && value !== 0) fail(field, text, `${field} must not be negative`);
  const ms = value * scale;
  if (!Number.isFinite(ms) || ms > MAX_TIME_MS) fail(field, text, `${field} must be at most ${MAX_TIME_MS / 1000}s`);
  return ms;
}

const PERCENT_RE = new RegExp(`^(-?)${NUMBER}\\s*%$`);

/** "1%", "0.5%", "0" → probability 0..1. */
export function parsePercent(field: string, text: string, what = field): number {
  const t = text.trim();
  if (t === '0') return 0;
  const m = PERCENT_RE.exec(t);
  if (!m) fail(field, text, `not a percentage (e.g. 1%, 0.5%)`);
  const value = Number(m[2]);
  if (m[1] || !Number.isFinite(value) || value > 100) fail(field, text, `${what} must be between 0% and 100%`);
  return value / 100;
}

const RATE_RE = new RegExp(`^${NUMBER}\\s*([a-z]*)$`, 'i');
/** tc's rate units: bit suffixes are bits per second, bps suffixes are bytes per second. */
const RATE_UNITS: Record<string, number> = {
  '': 1, bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3, tibit: 1024 ** 4,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12,
  kibps: 8 * 1024, mibps: 8 * 1024 ** 2, gibps: 8 * 1024 ** 3, tibps: 8 * 1024 ** 4,
};

/** "10mbit", "500kbit", "1gbit", "100kbps" (bytes/s), a bare number (bits/s, as tc) → bits per second. */
export function parseRate(field: string, text: string): number {
  const m = RATE_RE.exec(text.trim());
  const scale = m ? RATE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || scale === undefined) fail(field, text, 'not a rate (e.g. 10mbit, 500kbit)');
  const bits = Number(m[1]) * scale;
  if (!(bits > 0)) fail(field, text, `${field} must be more than 0`);
  if (!Number.isFinite(bits) || bits > MAX_RATE_BITS) fail(field, text, `${field} must be at most 1tbit`);
  return bits;
}

const SIZE_RE = new RegExp(`^${NUMBER}\\s*([a-z]*)$`, 'i');
/** tc's size units (binary): b, k/kb, m/mb, g/gb bytes; kbit, mbit, gbit bits. */
const SIZE_UNITS: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3,
  kbit: 1024 / 8, mbit: 1024 ** 2 / 8, gbit: 1024 ** 3 / 8,
};
const PACKET_UNITS: ReadonlySet<string> = new Set(['', 'p', 'pkt', 'pkts', 'packet', 'packets']);

/** "1000", "1000p", "1000 packets" → packets; "64kb", "1mb", "3000b" → bytes. */
export function parseQueue(field: string, text: string): { limit: number; unit: QueueUnit } {
  const m = SIZE_RE.exec(text.trim());
  const example = 'not a queue limit (e.g. 1000 packets, 1000p, 64kb)';
  if (!m) fail(field, text, example);
  const value = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  if (PACKET_UNITS.has(unit)) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_QUEUE_PACKETS) {
      fail(field, text, `${field} must be a whole number of packets from 1 to ${MAX_QUEUE_PACKETS}`);
    }
    return { limit: value, unit: 'packets' };
  }
  const bytes = parseSizeWith(field, text, value, unit, example);
  return { limit: bytes, unit: 'bytes' };
}

/** "1500", "1500b", "32kb" → bytes. */
export function parseSize(field: string, text: string): number {
  const m = SIZE_RE.exec(text.trim());
  const example = 'not a size (e.g. 1500b, 32kb)';
  if (!m) fail(field, text, example);
  const unit = m[2]!.toLowerCase();
  return parseSizeWith(field, text, Number(m[1]), unit === '' ? 'b' : unit, example);
}

function parseSizeWith(field: string, text: string, value: number, unit: string, example: string): number {
  const scale = SIZE_UNITS[unit];
  if (scale === undefined) fail(field, text, example);
  const bytes = Math.round(value * scale);
  if (!(bytes >= 1) || bytes > MAX_QUEUE_BYTES) fail(field, text, `${field} must be from 1 byte to 1gb`);
  return bytes;
}

const TRUE_WORDS: ReadonlySet<string> = new Set(['true', 'yes', 'on', '1', '']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['false', 'no', 'off', '0']);

export function parseBool(field: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  fail(field, text, 'not a boolean (true or false)');
}

/**
 * Gilbert-Elliott loss, tc style. Either positional like tc-netem, "gemodel P [R [1-H [1-K]]]", or
 * named, "gemodel p=1% r=30% 1-h=100% 1-k=0%" (h= and k= also accepted). The word gemodel is
 * optional. Defaults as tc: r = 1 - p, 1-h = 100%, 1-k = 0%.
 */
export function parseGilbertElliott(field: string, text: string): GilbertElliott {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words[0]?.toLowerCase() === 'gemodel') words.shift();
  const example = 'not a Gilbert-Elliott model (e.g. "gemodel p=1% r=30%")';
  if (words.length === 0 || words.length > 4) fail(field, text, example);
  const named = words.some((w) => w.includes('='));
  let p: number | undefined;
  let r: number | undefined;
  let h: number | undefined;
  let k: number | undefined;
  if (!named) {
    const v = words.map((w, i) => parsePercent(field, w, ['p', 'r', '1-h', '1-k'][i]));
    [p, r] = v;
    if (v[2] !== undefined) h = 1 - v[2];
    if (v[3] !== undefined) k = 1 - v[3];
  } else {
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq < 0) fail(field, text, example);
      const key = w.slice(0, eq).toLowerCase();
      const value = parsePercent(field, w.slice(eq + 1), key);
      const twice = (): never => fail(field, text, `${key} given twice`);
      switch (key) {
        case 'p':
          if (p !== undefined) twice();
          p = value;
          break;
        case 'r':
          if (r !== undefined) twice();
          r = value;
          break;
        case 'h':
        case '1-h':
          if (h !== undefined) twice();
          h = key === 'h' ? value : 1 - value;
          break;
        case 'k':
        case '1-k':
          if (k !== undefined) twice();
          k = key === 'k' ? value : 1 - value;
          break;
        default:
          fail(field, text, `unknown parameter "${key}" (p, r, 1-h, 1-k)`);
      }
    }
    if (p === undefined) fail(field, text, 'p is required');
  }
  return { p: p!, r: r ?? 1 - p!, h: h ?? 0, k: k ?? 1 };
}
