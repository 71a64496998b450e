import { describe, expect, it } from 'vitest';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PCAP_FILE_HEADER_LEN,
  pcapFileHeader,
  pcapRecordHeader,
  readPcap,
} from '../../../src/capture/pcap.js';
import { errorLike } from '../../helpers/matchers.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('pcap encoding', () => {
  it('writes the nanosecond file header byte for byte (little-endian)', () => {
    expect(pcapFileHeader(LINKTYPE_RAW, 262144)).toEqual(hex('4d3cb2a1 0200 0400 00000000 00000000 00000400 65000000'));
    expect(pcapFileHeader(LINKTYPE_ETHERNET, 65535)).toEqual(
      hex('4d3cb2a1 0200 0400 00000000 00000000 ffff0000 01000000'),
    );
  });

  it('writes a record header: seconds, nanoseconds, captured and original length', () => {
    const out = Buffer.alloc(20, 0xaa);
    pcapRecordHeader(out, 2, 1_700_000_000_123_456_789n, 60, 84);
    expect(out).toEqual(hex('aaaa 00f15365 15cd5b07 3c000000 54000000 aaaa'));
  });

  it('round-trips through readPcap', () => {
    const a = Buffer.from([0x45, 1, 2, 3]);
    const b = Buffer.from([0x45, 9, 8, 7, 6, 5]);
    const rec = (ts: bigint, data: Buffer, orig: number): Buffer => {
      const h = Buffer.alloc(16);
      pcapRecordHeader(h, 0, ts, data.length, orig);
      return Buffer.concat([h, data]);
    };
    const file = Buffer.concat([pcapFileHeader(LINKTYPE_RAW, 4096), rec(5n, a, 4), rec(2_000_000_001n, b, 1500)]);
    const parsed = readPcap(file);
    expect(parsed).toMatchObject({ linktype: LINKTYPE_RAW, snaplen: 4096, nanosecond: true, truncated: false });
    expect(parsed.records.map((r) => [r.tsNs, r.data, r.origLen])).toEqual([
      [5n, a, 4],
      [2_000_000_001n, b, 1500],
    ]);
  });

  it('reads microsecond big-endian files and reports a truncated tail', () => {
    const file = hex(
      'a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000001' + '00000002 000003e8 00000002 00000002 abcd' + '0000',
    );
    const parsed = readPcap(file);
    expect(parsed.nanosecond).toBe(false);
    expect(parsed.linktype).toBe(LINKTYPE_ETHERNET);
    expect(parsed.records).toHaveLength(1);
    expect(parsed.records[0].tsNs).toBe(2_001_000_000n); // 2 s + 1000 µs;
    expect(parsed.truncated).toBe(true);
  });

  it('refuses bytes that are not a pcap file', () => {
    expect(() => readPcap(Buffer.alloc(PCAP_FILE_HEADER_LEN))).toThrow(errorLike({ name: 'ConfigError' }));
    expect(() => readPcap(Buffer.alloc(3))).toThrow(errorLike({ name: 'ConfigError' }));
  });
});
