// pcapng blocks: exact bytes of the SHB/IDB/EPB layout, round trips through readPcapng (fast-check),
// and the real reader: capinfos and tshark open a file made of these blocks and see the interface
// names, descriptions, the comment and nanosecond timestamps.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_SHB,
  BYTE_ORDER_MAGIC,
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  readPcapng,
  sectionHeaderBlock,
} from '../../../src/capture/pcapng.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../../src/capture/pcap.js';
import { requireOrSkip } from '../../helpers/root.js';
import { icmpPacket } from './packets.js';

const hasTshark = spawnSync('tshark', ['--version']).status === 0 && spawnSync('capinfos', ['-h']).status === 0;

describe('pcapng blocks', () => {
  it('SHB: type, lengths at both ends, byte-order magic, version 1.0, unknown section length, comment option', () => {
    const b = sectionHeaderBlock({ comment: 'abc' });
    expect(b.readUInt32LE(0)).toBe(BLOCK_SHB);
    expect(b.readUInt32LE(4)).toBe(b.length);
    expect(b.readUInt32LE(b.length - 4)).toBe(b.length);
    expect(b.readUInt32LE(8)).toBe(BYTE_ORDER_MAGIC);
    expect([b.readUInt16LE(12), b.readUInt16LE(14)]).toEqual([1, 0]);
    expect(b.readBigInt64LE(16)).toBe(-1n);
    // opt_comment (1), length 3, "abc" padded to 4, then opt_endofopt
    expect(b.subarray(24, 36).toString('hex')).toBe('01000300' + '61626300' + '00000000');
    expect(b.length % 4).toBe(0);
  });

  it('IDB: link type, snaplen, if_name, if_description, if_tsresol = 9', () => {
    const b = interfaceDescriptionBlock({ linktype: LINKTYPE_RAW, snaplen: 1500, name: 'n1/inner', description: 'd' });
    expect(b.readUInt32LE(0)).toBe(BLOCK_IDB);
    expect(b.readUInt16LE(8)).toBe(101);
    expect(b.readUInt32LE(12)).toBe(1500);
    const f = readPcapng(Buffer.concat([sectionHeaderBlock(), b]));
    expect(f.interfaces).toEqual([
      { linktype: 101, snaplen: 1500, name: 'n1/inner', description: 'd', unitsPerSecond: 1_000_000_000n },
    ]);
    expect(b.subarray(b.length - 16, b.length - 4).toString('hex')).toBe('09000100' + '09000000' + '00000000');
  });

  it('EPB: interface, 64-bit nanosecond timestamp split high/low, lengths, data padded to 4', () => {
    const data = Buffer.from([1, 2, 3, 4, 5]);
    const ts = 1_796_000_000_123_456_789n;
    const b = enhancedPacketBlock(3, ts, data, 60);
    expect(b.readUInt32LE(0)).toBe(BLOCK_EPB);
    expect(b.length).toBe(28 + 8 + 4);
    expect(b.readUInt32LE(8)).toBe(3);
    expect((BigInt(b.readUInt32LE(12)) << 32n) | BigInt(b.readUInt32LE(16))).toBe(ts);
    expect([b.readUInt32LE(20), b.readUInt32LE(24)]).toEqual([5, 60]);
    expect(b.subarray(28, 36).toString('hex')).toBe('0102030405000000');
  });

  it('round trips interfaces and packets (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string({ maxLength: 40 }), description: fc.string({ maxLength: 80 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(
          fc.record({
            iface: fc.nat(),
            ts: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
            data: fc.uint8Array({ maxLength: 300 }),
          }),
          { maxLength: 20 },
        ),
        fc.string({ maxLength: 200 }),
        (ifaces, packets, comment) => {
          const blocks = [sectionHeaderBlock({ comment, application: 'test' })];
          for (const i of ifaces)
            blocks.push(interfaceDescriptionBlock({ linktype: LINKTYPE_ETHERNET, snaplen: 262144, ...i }));
          const want = packets.map((p) => ({
            iface: p.iface % ifaces.length,
            tsNs: p.ts,
            data: Buffer.from(p.data),
            origLen: p.data.length,
          }));
          for (const p of want) blocks.push(enhancedPacketBlock(p.iface, p.tsNs, p.data));
          const f = readPcapng(Buffer.concat(blocks));
          expect(f.truncated).toBe(false);
          expect(f.comment ?? '').toBe(comment);
          expect(f.interfaces.map((i) => [i.name ?? '', i.description ?? ''])).toEqual(
            ifaces.map((i) => [i.name, i.description]),
          );
          expect(f.packets).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('readPcapng refuses what is not pcapng and reports a cut-off block', () => {
    expect(() => readPcapng(Buffer.alloc(30))).toThrow(/not a pcapng/);
    const whole = Buffer.concat([
      sectionHeaderBlock(),
      interfaceDescriptionBlock({ linktype: 1, snaplen: 100, name: 'x' }),
      enhancedPacketBlock(0, 1n, Buffer.alloc(20)),
    ]);
    expect(readPcapng(whole.subarray(0, whole.length - 3)).truncated).toBe(true);
  });
});

describe.skipIf(requireOrSkip(hasTshark, 'pcapng with tshark/capinfos: install tshark and wireshark-common'))(
  'pcapng read by Wireshark tools',
  () => {
    it('capinfos and tshark see pcapng, the interfaces by name, the comment and the packets', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-pcapng-'));
      try {
        const file = path.join(dir, 'x.pcapng');
        const ping = icmpPacket('10.244.1.2', '10.244.2.2');
        fs.writeFileSync(
          file,
          Buffer.concat([
            sectionHeaderBlock({ comment: 'lab test: two nodes', application: 'flannelette test' }),
            interfaceDescriptionBlock({
              linktype: LINKTYPE_RAW,
              snaplen: 262144,
              name: 'node1/inner',
              description: 'node1 pods',
            }),
            interfaceDescriptionBlock({
              linktype: LINKTYPE_RAW,
              snaplen: 262144,
              name: 'node2/inner',
              description: 'node2 pods',
            }),
            enhancedPacketBlock(0, 1_796_000_000_000_000_001n, ping),
            enhancedPacketBlock(1, 1_796_000_000_000_500_002n, ping),
          ]),
        );
        const info = spawnSync('capinfos', [file], { encoding: 'utf8' }).stdout;
        expect(info).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng/);
        expect(info).toMatch(/Number of interfaces in file: 2/);
        expect(info).toMatch(/Capture comment:\s+lab test: two nodes/);
        expect(info).toMatch(/File timestamp precision:\s+nanoseconds/);
        const fields = spawnSync(
          'tshark',
          [
            '-r',
            file,
            '-T',
            'fields',
            '-e',
            'frame.interface_name',
            '-e',
            'frame.interface_description',
            '-e',
            'icmp.type',
            '-e',
            'frame.time_epoch',
          ],
          {
            encoding: 'utf8',
          },
        ).stdout;
        expect(fields.trim().split('\n')).toEqual([
          'node1/inner\tnode1 pods\t8\t1796000000.000000001',
          'node2/inner\tnode2 pods\t8\t1796000000.000500002',
        ]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
