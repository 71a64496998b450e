// Link impairment specs: what ImpairedUnderlay (impair/impair.ts) does to the datagrams sent to one
// peer. Parses CLI-style strings (tc-netem words and units), validates, formats for status output,
// and converts to and from a plain-JSON form that travels over the control socket.
//
// Throws: parseImpairment, impairmentFromJson and validateImpairment throw ConfigError (and nothing
// else, whatever the input) with one line naming the field and its value, e.g.
//   `--loss 150%: loss must be between 0% and 100%`.
// Specs are plain immutable-by-convention data; nothing here keeps a reference to its input.
import { ConfigError } from '../util/errors.js';
import {
  fail,
  MAX_QUEUE_BYTES,
  MAX_QUEUE_PACKETS,
  MAX_RATE_BITS,
  MAX_TIME_MS,
  oneLineValue,
  parseBool,
  parseGilbertElliott,
  parsePercent,
  parseQueue,
  parseRate,
  parseSize,
  parseTimeMs,
} from './values.js';

export type JitterDistribution = 'uniform' | 'normal' | 'pareto' | 'paretonormal';
export const JITTER_DISTRIBUTIONS: readonly JitterDistribution[] = ['uniform', 'normal', 'pareto', 'paretonormal'];

/**
 * Gilbert-Elliott bursty loss, with netem's meaning of the parameters (all probabilities, 0..1):
 * p = P(good → bad) and r = P(bad → good) per packet; h = P(delivered | bad), k = P(delivered | good).
 * tc writes the loss probabilities 1-h and 1-k. Classic Gilbert: h = 0, k = 1.
 */
export interface GilbertElliott {
  p: number;
  r: number;
  h: number;
  k: number;
}

export type QueueUnit = 'packets' | 'bytes';

/** A complete, validated impairment. Also the plain-JSON wire form (see impairmentToJson). */
export interface ImpairmentSpec {
  /** One-way delay added to every packet, milliseconds. */
  delayMs: number;
  /** Random variation around delayMs, milliseconds (uniform: ±jitter; others: jitter is one sigma, clipped at ±4 sigma). */
  jitterMs: number;
  distribution: JitterDistribution;
  /** false (default): jitter never reorders packets to one peer (a FIFO link); true: netem's behaviour, packets leave in order of due time. */
  jitterReorders: boolean;
  /** Independent loss probability, 0..1. Zero when lossModel is set. */
  loss: number;
  /** Bursty loss; null for none. */
  lossModel: GilbertElliott | null;
  /** Probability that a packet is sent twice, 0..1. */
  duplicate: number;
  /** Probability that a packet skips the delay (and the rate queue) and is sent at once, 0..1. Needs delayMs > 0. */
  reorder: number;
  /** Probability that one random bit of the UDP payload is flipped, 0..1. */
  corrupt: number;
  /**
   * Link rate in bits per second; 0 = unlimited. It counts the UDP payload handed to the underlay
   * (for vxlan: VXLAN header + inner Ethernet frame + inner IP packet), not the outer UDP, IP and
   * Ethernet headers (28 + 14 bytes more per datagram on an Ethernet underlay), which `tc netem rate`
   * on the underlay interface would count. Full 1500-byte-MTU vxlan datagrams carry 1472 payload
   * bytes, so TCP goodput is about 95% of the rate (MSS payload 1398 / 1472).
   */
  rateBitsPerSec: number;
  /** Token bucket depth in bytes (how much may go back to back at line speed after an idle period). */
  burstBytes: number;
  /** Bound on the copies held for this peer (waiting for the rate or for their delay), like netem's limit. */
  queue: { limit: number; unit: QueueUnit };
  /** Drop everything to this peer. */
  partition: boolean;
}

export const DEFAULT_QUEUE_PACKETS = 1000;
export const DEFAULT_BURST_BYTES = 1500;
export { MAX_QUEUE_PACKETS } from './values.js';

/** A spec that changes nothing. */
export function emptyImpairment(): ImpairmentSpec {
  return {
    delayMs: 0,
    jitterMs: 0,
    distribution: 'uniform',
    jitterReorders: false,
    loss: 0,
    lossModel: null,
    duplicate: 0,
    reorder: 0,
    corrupt: 0,
    rateBitsPerSec: 0,
    burstBytes: DEFAULT_BURST_BYTES,
    queue: { limit: DEFAULT_QUEUE_PACKETS, unit: 'packets' },
    partition: false,
  };
}

/** True when the spec would pass every packet through unchanged and at once. */
export function isNoopImpairment(s: ImpairmentSpec): boolean {
  return (
    s.delayMs === 0 &&
    s.jitterMs === 0 &&
    s.loss === 0 &&
    s.lossModel === null &&
    s.duplicate === 0 &&
    s.reorder === 0 &&
    s.corrupt === 0 &&
    s.rateBitsPerSec === 0 &&
    !s.partition
  );
}

/** True when packets must be copied and held (delay, jitter or rate). */
export function needsScheduling(s: ImpairmentSpec): boolean {
  return s.delayMs > 0 || s.jitterMs > 0 || s.rateBitsPerSec > 0;
}

// ---------------------------------------------------------------------------------------------
// CLI-style parsing

/** Field names accepted by parseImpairment (kebab-case; camelCase such as commander's `lossBurst` works too). */
export const IMPAIRMENT_FIELDS = [
  'delay',
  'jitter',
  'distribution',
  'jitter-reorders',
  'loss',
  'loss-burst',
  'duplicate',
  'reorder',
  'corrupt',
  'rate',
  'burst',
  'queue',
  'partition',
] as const;
type Field = (typeof IMPAIRMENT_FIELDS)[number];
const FIELD_SET: ReadonlySet<string> = new Set(IMPAIRMENT_FIELDS);

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * Builds a validated spec from CLI-style fields (`--delay 20ms` → `{ delay: '20ms' }`). Undefined
 * fields keep their defaults; unknown fields are refused. `loss` also takes a "gemodel ..." string.
 */
export function parseImpairment(fields: Record<string, string | undefined>): ImpairmentSpec {
  const spec = emptyImpairment();
  const given = new Map<Field, string>();
  for (const [rawKey, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const key = kebab(rawKey);
    if (!FIELD_SET.has(key)) throw new ConfigError(`--${oneLineValue(rawKey)}: unknown impairment (one of ${IMPAIRMENT_FIELDS.join(', ')})`);
    if (typeof value !== 'string') throw new ConfigError(`--${key}: expected a string value`);
    if (given.has(key as Field)) throw new ConfigError(`--${key} given twice`);
    given.set(key as Field, value);
  }
  for (const [field, value] of given) {
    switch (field) {
      case 'delay':
        spec.delayMs = parseTimeMs(field, value);
        break;
      case 'jitter':
        spec.jitterMs = parseTimeMs(field, value);
        break;
      case 'distribution': {
        const d = value.trim().toLowerCase();
        if (!(JITTER_DISTRIBUTIONS as readonly string[]).includes(d)) fail(field, value, `not a distribution (${JITTER_DISTRIBUTIONS.join(', ')})`);
        spec.distribution = d as JitterDistribution;
        break;
      }
      case 'jitter-reorders':
        spec.jitterReorders = parseBool(field, value);
        break;
      case 'loss':
        if (/^\s*gemodel\b/i.test(value)) spec.lossModel = parseGilbertElliott(field, value);
        else spec.loss = parsePercent(field, value);
        break;
      case 'loss-burst':
        spec.lossModel = parseGilbertElliott(field, value);
        break;
      case 'duplicate':
        spec.duplicate = parsePercent(field, value);
        break;
      case 'reorder':
        spec.reorder = parsePercent(field, value);
        break;
      case 'corrupt':
        spec.corrupt = parsePercent(field, value);
        break;
      case 'rate':
        spec.rateBitsPerSec = parseRate(field, value);
        break;
      case 'burst':
        spec.burstBytes = parseSize(field, value);
        break;
      case 'queue':
        spec.queue = parseQueue(field, value);
        break;
      case 'partition':
        spec.partition = parseBool(field, value);
        break;
    }
  }
  if (given.has('loss') && given.has('loss-burst')) {
    fail('loss-burst', given.get('loss-burst')!, `cannot be combined with --loss ${oneLineValue(given.get('loss')!)}`);
  }
  if (spec.reorder > 0 && spec.delayMs === 0) fail('reorder', given.get('reorder')!, 'reorder needs a delay (e.g. --delay 10ms)');
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Validation and the plain-JSON form

const SPEC_KEYS: ReadonlySet<string> = new Set(Object.keys(emptyImpairment()));

function jsonFail(key: string, value: unknown, reason: string): never {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  } catch {
    shown = typeof value;
  }
  throw new ConfigError(`${key} ${oneLineValue(shown)}: ${reason}`);
}

function checkNumber(key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) jsonFail(key, v, `must be a number from ${min} to ${max}`);
  return v;
}

function checkProbability(key: string, v: unknown): number {
  return checkNumber(key, v, 0, 1);
}

function checkBool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') jsonFail(key, v, 'must be true or false');
  return v;
}

/**
 * Reads the plain-JSON form (for example from the control socket). Missing fields take their
 * defaults; unknown fields and bad values throw ConfigError naming the field. Returns a fresh spec.
 */
export function impairmentFromJson(value: unknown): ImpairmentSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) jsonFail('impairment', value, 'must be an object');
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!SPEC_KEYS.has(key)) jsonFail(key, obj[key], 'unknown impairment field');
  const spec = emptyImpairment();
  const has = (k: keyof ImpairmentSpec): boolean => Object.prototype.hasOwnProperty.call(obj, k) && obj[k] !== undefined;
  if (has('delayMs')) spec.delayMs = checkNumber('delayMs', obj.delayMs, 0, MAX_TIME_MS);
  if (has('jitterMs')) spec.jitterMs = checkNumber('jitterMs', obj.jitterMs, 0, MAX_TIME_MS);
  if (has('distribution')) {
    const d = obj.distribution;
    if (typeof d !== 'string' || !(JITTER_DISTRIBUTIONS as readonly string[]).includes(d)) jsonFail('distribution', d, `must be one of ${JITTER_DISTRIBUTIONS.join(', ')}`);
    spec.distribution = d as JitterDistribution;
  }
  if (has('jitterReorders')) spec.jitterReorders = checkBool('jitterReorders', obj.jitterReorders);
  if (has('loss')) spec.loss = checkProbability('loss', obj.loss);
  if (has('lossModel') && obj.lossModel !== null) {
    const m = obj.lossModel;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) jsonFail('lossModel', m, 'must be an object {p, r, h?, k?} or null');
    const g = m as Record<string, unknown>;
    for (const key of Object.keys(g)) if (!['p', 'r', 'h', 'k'].includes(key)) jsonFail(`lossModel.${key}`, g[key], 'unknown field (p, r, h, k)');
    const p = checkProbability('lossModel.p', g.p);
    spec.lossModel = {
      p,
      r: g.r === undefined ? 1 - p : checkProbability('lossModel.r', g.r),
      h: g.h === undefined ? 0 : checkProbability('lossModel.h', g.h),
      k: g.k === undefined ? 1 : checkProbability('lossModel.k', g.k),
    };
  }
  if (has('duplicate')) spec.duplicate = checkProbability('duplicate', obj.duplicate);
  if (has('reorder')) spec.reorder = checkProbability('reorder', obj.reorder);
  if (has('corrupt')) spec.corrupt = checkProbability('corrupt', obj.corrupt);
  if (has('rateBitsPerSec')) spec.rateBitsPerSec = checkNumber('rateBitsPerSec', obj.rateBitsPerSec, 0, MAX_RATE_BITS);
  if (has('burstBytes')) spec.burstBytes = checkNumber('burstBytes', obj.burstBytes, 1, MAX_QUEUE_BYTES);
  if (has('queue')) {
    const q = obj.queue;
    if (typeof q !== 'object' || q === null || Array.isArray(q)) jsonFail('queue', q, 'must be an object {limit, unit}');
    const qo = q as Record<string, unknown>;
    for (const key of Object.keys(qo)) if (key !== 'limit' && key !== 'unit') jsonFail(`queue.${key}`, qo[key], 'unknown field (limit, unit)');
    const unit = qo.unit ?? 'packets';
    if (unit !== 'packets' && unit !== 'bytes') jsonFail('queue.unit', unit, 'must be "packets" or "bytes"');
    const max = unit === 'packets' ? MAX_QUEUE_PACKETS : MAX_QUEUE_BYTES;
    const limit = checkNumber('queue.limit', qo.limit, 1, max);
    if (!Number.isInteger(limit)) jsonFail('queue.limit', limit, 'must be a whole number');
    spec.queue = { limit, unit };
  }
  if (has('partition')) spec.partition = checkBool('partition', obj.partition);
  checkCombination(spec);
  return spec;
}

function checkCombination(spec: ImpairmentSpec): void {
  if (spec.lossModel !== null && spec.loss !== 0) jsonFail('loss', spec.loss, 'cannot be combined with lossModel');
  if (spec.reorder > 0 && spec.delayMs === 0) jsonFail('reorder', spec.reorder, 'reorder needs delayMs > 0');
}

/** Checks a spec built in code; throws ConfigError naming the first bad field. Returns a private copy. */
export function validateImpairment(spec: ImpairmentSpec): ImpairmentSpec {
  return impairmentFromJson(spec);
}

/** The plain-JSON form: a deep copy with only JSON types, accepted back by impairmentFromJson. */
export function impairmentToJson(spec: ImpairmentSpec): ImpairmentSpec {
  return {
    ...spec,
    lossModel: spec.lossModel === null ? null : { ...spec.lossModel },
    queue: { ...spec.queue },
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting (tc-like, for status output)

function num(x: number): string {
  return String(Number(x.toPrecision(6)));
}

export function formatPercent(p: number): string {
  return `${num(p * 100)}%`;
}

export function formatTimeMs(ms: number): string {
  if (ms >= 1000 && Number.isInteger(ms / 1000)) return `${ms / 1000}s`;
  if (ms > 0 && ms < 1) return `${num(ms * 1000)}us`;
  return `${num(ms)}ms`;
}

export function formatRate(bits: number): string {
  for (const [unit, scale] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) {
    if (bits >= scale) return `${num(bits / scale)}${unit}`;
  }
  return `${num(bits)}bit`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}mb`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}kb`;
  return `${bytes}b`;
}

/** One line in tc-netem words, e.g. "delay 20ms jitter 5ms normal loss 1% rate 20mbit limit 1000p"; "none" for a no-op. */
export function formatImpairment(spec: ImpairmentSpec): string {
  const parts: string[] = [];
  if (spec.partition) parts.push('partition');
  if (spec.delayMs > 0 || spec.jitterMs > 0) {
    parts.push(`delay ${formatTimeMs(spec.delayMs)}`);
    if (spec.jitterMs > 0) {
      parts.push(`jitter ${formatTimeMs(spec.jitterMs)} ${spec.distribution}`);
      if (spec.jitterReorders) parts.push('jitter-reorders');
    }
  }
  if (spec.loss > 0) parts.push(`loss ${formatPercent(spec.loss)}`);
  if (spec.lossModel) {
    const g = spec.lossModel;
    parts.push(`loss gemodel p=${formatPercent(g.p)} r=${formatPercent(g.r)} 1-h=${formatPercent(1 - g.h)} 1-k=${formatPercent(1 - g.k)}`);
  }
  if (spec.duplicate > 0) parts.push(`duplicate ${formatPercent(spec.duplicate)}`);
  if (spec.reorder > 0) parts.push(`reorder ${formatPercent(spec.reorder)}`);
  if (spec.corrupt > 0) parts.push(`corrupt ${formatPercent(spec.corrupt)}`);
  if (spec.rateBitsPerSec > 0) parts.push(`rate ${formatRate(spec.rateBitsPerSec)} burst ${formatBytes(spec.burstBytes)}`);
  if (parts.length === 0) return 'none';
  if (needsScheduling(spec)) {
    parts.push(`limit ${spec.queue.unit === 'packets' ? `${spec.queue.limit}p` : formatBytes(spec.queue.limit)}`);
  }
  return parts.join(' ');
}
