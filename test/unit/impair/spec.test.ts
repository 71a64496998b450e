import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../../src/util/errors.js';
import {
  emptyImpairment,
  formatImpairment,
  impairmentFromJson,
  impairmentToJson,
  isNoopImpairment,
  parseImpairment,
  IMPAIRMENT_FIELDS,
  type ImpairmentSpec,
} from '../../../src/impair/spec.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).name).toBe('ConfigError');
    expect((err as ConfigError).code).toBe('ECONFIG');
    expect((err as Error).message).not.toContain('\n');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseImpairment: values', () => {
  it('parses times in tc units', () => {
    expect(parseImpairment({ delay: '20ms' }).delayMs).toBe(20);
    expect(parseImpairment({ delay: '1.5ms' }).delayMs).toBe(1.5);
    expect(parseImpairment({ delay: '0' }).delayMs).toBe(0);
    expect(parseImpairment({ delay: '2s' }).delayMs).toBe(2000);
    expect(parseImpairment({ delay: '250us' }).delayMs).toBeCloseTo(0.25, 12);
    expect(parseImpairment({ delay: ' 10 msec ' }).delayMs).toBe(10);
    expect(parseImpairment({ jitter: '5ms' }).jitterMs).toBe(5);
  });

  it('parses percentages as probabilities', () => {
    expect(parseImpairment({ loss: '1%' }).loss).toBeCloseTo(0.01, 15);
    expect(parseImpairment({ loss: '0.5%' }).loss).toBeCloseTo(0.005, 15);
    expect(parseImpairment({ loss: '100%' }).loss).toBe(1);
    expect(parseImpairment({ loss: '0' }).loss).toBe(0);
    expect(parseImpairment({ duplicate: '1%' }).duplicate).toBeCloseTo(0.01, 15);
    expect(parseImpairment({ delay: '10ms', reorder: '25%' }).reorder).toBe(0.25);
    expect(parseImpairment({ corrupt: '0.1%' }).corrupt).toBeCloseTo(0.001, 15);
  });

  it('parses rates in tc units (bit = bits/s, bps = bytes/s)', () => {
    const rate = (r: string): number => parseImpairment({ rate: r }).rateBitsPerSec;
    expect(rate('10mbit')).toBe(10e6);
    expect(rate('500kbit')).toBe(500e3);
    expect(rate('1gbit')).toBe(1e9);
    expect(rate('100kbps')).toBe(800e3);
    expect(rate('2mbps')).toBe(16e6);
    expect(rate('1000bps')).toBe(8000);
    expect(rate('64kibit')).toBe(65536);
    expect(rate('9600')).toBe(9600);
    expect(rate('20Mbit')).toBe(20e6);
  });

  it('parses queue limits in packets or bytes, and burst sizes', () => {
    expect(parseImpairment({ queue: '1000' }).queue).toEqual({ limit: 1000, unit: 'packets' });
    expect(parseImpairment({ queue: '50p' }).queue).toEqual({ limit: 50, unit: 'packets' });
    expect(parseImpairment({ queue: '20 packets' }).queue).toEqual({ limit: 20, unit: 'packets' });
    expect(parseImpairment({ queue: '64kb' }).queue).toEqual({ limit: 65536, unit: 'bytes' });
    expect(parseImpairment({ queue: '3000b' }).queue).toEqual({ limit: 3000, unit: 'bytes' });
    expect(parseImpairment({ burst: '32kb' }).burstBytes).toBe(32768);
    expect(parseImpairment({}).queue).toEqual({ limit: 1000, unit: 'packets' });
  });

  it('parses distributions, booleans and partition', () => {
    const s = parseImpairment({ delay: '10ms', jitter: '2ms', distribution: 'Normal', 'jitter-reorders': 'yes', partition: 'true' });
    expect(s.distribution).toBe('normal');
    expect(s.jitterReorders).toBe(true);
    expect(s.partition).toBe(true);
    expect(parseImpairment({ partition: 'off' }).partition).toBe(false);
  });

  it('parses Gilbert-Elliott loss in named and tc positional forms', () => {
    expect(parseImpairment({ 'loss-burst': 'gemodel p=1% r=30%' }).lossModel).toEqual({ p: 0.01, r: 0.3, h: 0, k: 1 });
    expect(parseImpairment({ lossBurst: 'p=1% r=30% 1-h=80% 1-k=0.1%' }).lossModel).toEqual({ p: 0.01, r: 0.3, h: expect.closeTo(0.2, 12), k: expect.closeTo(0.999, 12) });
    expect(parseImpairment({ loss: 'gemodel 1% 30% 100% 0%' }).lossModel).toEqual({ p: 0.01, r: 0.3, h: 0, k: 1 });
    expect(parseImpairment({ loss: 'gemodel 5%' }).lossModel).toEqual({ p: 0.05, r: 0.95, h: 0, k: 1 });
    expect(parseImpairment({ 'loss-burst': 'gemodel p=2% r=10%' }).loss).toBe(0);
  });

  it('accepts camelCase keys as commander produces them, and skips undefined', () => {
    const s = parseImpairment({ delay: '5ms', lossBurst: 'p=1% r=50%', jitterReorders: 'false', rate: undefined });
    expect(s.delayMs).toBe(5);
    expect(s.lossModel?.r).toBe(0.5);
    expect(s.rateBitsPerSec).toBe(0);
  });

  it('an empty record is a no-op spec', () => {
    expect(isNoopImpairment(parseImpairment({}))).toBe(true);
    expect(parseImpairment({})).toEqual(emptyImpairment());
  });
});

describe('parseImpairment: errors', () => {
  it.each([
    [{ loss: '150%' }, '--loss 150%: loss must be between 0% and 100%'],
    [{ rate: 'fast' }, '--rate fast: not a rate (e.g. 10mbit, 500kbit)'],
    [{ delay: '-5ms' }, '--delay -5ms: delay must not be negative'],
    [{ jitter: 'abc' }, '--jitter abc: not a time (e.g. 20ms, 1.5ms, 2s)'],
  ])('%o → %s', (fields, message) => {
    expect(configError(() => parseImpairment(fields)).message).toBe(message);
  });

  it.each([
    [{ delay: '20' }, '--delay 20'],
    [{ delay: '5 parsecs' }, '--delay 5 parsecs'],
    [{ delay: '99999s' }, '--delay 99999s'],
    [{ loss: '1' }, '--loss 1'],
    [{ loss: '-1%' }, '--loss -1%'],
    [{ loss: '' }, '--loss'],
    [{ rate: '0mbit' }, '--rate 0mbit'],
    [{ rate: '10 furlongs' }, '--rate 10 furlongs'],
    [{ queue: '0' }, '--queue 0'],
    [{ queue: '1.5p' }, '--queue 1.5p'],
    [{ queue: '100000' }, '--queue 100000'],
    [{ distribution: 'cauchy' }, '--distribution cauchy'],
    [{ partition: 'maybe' }, '--partition maybe'],
    [{ 'loss-burst': 'gemodel' }, '--loss-burst gemodel'],
    [{ 'loss-burst': 'p=1% q=2%' }, '--loss-burst p=1% q=2%'],
    [{ 'loss-burst': 'r=2%' }, '--loss-burst r=2%'],
    [{ 'loss-burst': 'p=1% p=2%' }, '--loss-burst p=1% p=2%'],
    [{ loss: '1%', 'loss-burst': 'p=1%' }, '--loss-burst p=1%'],
    [{ reorder: '25%' }, '--reorder 25%'],
    [{ colour: 'red' }, '--colour'],
  ])('%o names the field', (fields, prefix) => {
    expect(configError(() => parseImpairment(fields)).message.startsWith(prefix)).toBe(true);
  });

  it('never throws anything but ConfigError on arbitrary strings', () => {
    const token = fc.oneof(
      fc.string(),
      fc.constantFrom('', '0', '%', 'ms', 'gemodel', 'p=', '1-h=', 'mbit', 'kbps', 'packets', '-', '.', 'e', 'NaN', 'Infinity', '1e999'),
      fc.tuple(fc.double(), fc.constantFrom('', '%', 'ms', 's', 'us', 'mbit', 'bps', 'kb', 'p')).map(([n, u]) => `${n}${u}`),
    );
    const value = fc.tuple(fc.array(token, { maxLength: 5 }), fc.constantFrom('', ' ', '=')).map(([parts, sep]) => parts.join(sep));
    const key = fc.oneof(fc.constantFrom(...IMPAIRMENT_FIELDS, 'lossBurst', 'jitterReorders'), fc.string());
    fc.assert(
      fc.property(fc.dictionary(key, fc.option(value, { nil: undefined }), { maxKeys: 4 }), (fields) => {
        try {
          const spec = parseImpairment(fields);
          // Whatever parses is valid by the JSON rules too.
          expect(impairmentFromJson(impairmentToJson(spec))).toEqual(spec);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          expect(err.message).not.toContain('\n');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('plain-JSON form', () => {
  const full: ImpairmentSpec = parseImpairment({
    delay: '20ms',
    jitter: '5ms',
    distribution: 'normal',
    'loss-burst': 'p=1% r=30%',
    duplicate: '1%',
    reorder: '25%',
    corrupt: '0.1%',
    rate: '10mbit',
    queue: '64kb',
  });

  it('round-trips through JSON text', () => {
    const back = impairmentFromJson(JSON.parse(JSON.stringify(impairmentToJson(full))));
    expect(back).toEqual(full);
  });

  it('fills defaults for missing fields', () => {
    expect(impairmentFromJson({ delayMs: 20 })).toEqual({ ...emptyImpairment(), delayMs: 20 });
    expect(impairmentFromJson({ lossModel: { p: 0.1 } }).lossModel).toEqual({ p: 0.1, r: 0.9, h: 0, k: 1 });
  });

  it.each([
    [null, 'impairment'],
    [[], 'impairment'],
    [{ delayMs: -1 }, 'delayMs'],
    [{ delayMs: '20ms' }, 'delayMs'],
    [{ loss: 1.5 }, 'loss'],
    [{ loss: Number.NaN }, 'loss'],
    [{ distribution: 'cauchy' }, 'distribution'],
    [{ lossModel: { p: 2 } }, 'lossModel.p'],
    [{ lossModel: { p: 0.1, z: 1 } }, 'lossModel.z'],
    [{ queue: { limit: 0, unit: 'packets' } }, 'queue.limit'],
    [{ queue: { limit: 10, unit: 'frames' } }, 'queue.unit'],
    [{ partition: 'yes' }, 'partition'],
    [{ bogus: 1 }, 'bogus'],
    [{ loss: 0.1, lossModel: { p: 0.1 } }, 'loss'],
    [{ reorder: 0.5 }, 'reorder'],
  ])('%o → ConfigError naming %s', (json, field) => {
    expect(configError(() => impairmentFromJson(json)).message.startsWith(field)).toBe(true);
  });
});

describe('formatImpairment', () => {
  it('prints tc-like words', () => {
    expect(formatImpairment(emptyImpairment())).toBe('none');
    expect(formatImpairment(parseImpairment({ delay: '20ms', jitter: '5ms', distribution: 'normal', loss: '1%' }))).toBe(
      'delay 20ms jitter 5ms normal loss 1% limit 1000p',
    );
    expect(formatImpairment(parseImpairment({ rate: '20mbit', queue: '64kb' }))).toBe('rate 20mbit burst 1500b limit 64kb');
    expect(formatImpairment(parseImpairment({ 'loss-burst': 'p=1% r=30%', duplicate: '0.5%', corrupt: '0.1%' }))).toBe(
      'loss gemodel p=1% r=30% 1-h=100% 1-k=0% duplicate 0.5% corrupt 0.1%',
    );
    expect(formatImpairment(parseImpairment({ partition: 'true', delay: '2s' }))).toBe('partition delay 2s limit 1000p');
    expect(formatImpairment(parseImpairment({ delay: '1.5ms', reorder: '25%' }))).toBe('delay 1.5ms reorder 25% limit 1000p');
  });
});
