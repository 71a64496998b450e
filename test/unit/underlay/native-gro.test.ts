// UDP GRO on the native underlay over 127.0.0.1: a UDP GSO train from a peer arrives as one read of
// glued datagrams (the kernel hands it over unsegmented to a socket with UDP_GRO) and is split into
// exactly the datagrams that were sent, counted as datagrams; with gro: false every datagram is its
// own read.
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { nativeAvailable } from '../../../src/sys/addon.js';
import { openNativeUdpUnderlay } from '../../../src/underlay/native.js';
import { requireOrSkip } from '../../helpers/root.js';
import { collect, waitFor } from '../../helpers/underlay-compliance.js';

const LOOPBACK = parseIpv4('127.0.0.1');
const skip = requireOrSkip(nativeAvailable(), 'native UDP underlay: the addon is not built (run npm install)');

function datagram(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 29 + k * 13) & 0xff;
  b.writeUInt32BE(i, 0);
  return b;
}

describe.skipIf(skip)('native UDP underlay with UDP GRO over 127.0.0.1', () => {
  for (const gro of [true, false]) {
    it(`a GSO train of 40 + 1 datagrams arrives as the same datagrams (gro: ${gro})`, async () => {
      const a = await openNativeUdpUnderlay({ addr: LOOPBACK, port: 0 });
      const b = await openNativeUdpUnderlay({ addr: LOOPBACK, port: 0, gro });
      try {
        const st0 = b.stats();
        expect(st0.groSupported).toBe(true); // this kernel (6.18) has UDP_GRO
        expect(st0.gro).toBe(gro);
        const atB = collect(b);
        const lens = [...Array.from({ length: 40 }, () => 1400), 321];
        lens.forEach((len, i) => expect(a.send(datagram(i, len), 0, len, b.localAddr, b.localPort)).toBe(true));
        a.flush();
        expect(a.stats()).toMatchObject({ gsoSends: 1, gsoSegments: 41 });
        await waitFor(
          () => undefined,
          () => atB.got.length >= lens.length,
          '41 datagrams',
        );
        expect(atB.got.length).toBe(lens.length);
        atB.got.forEach((g, i) => expect(g.data.equals(datagram(i, lens[i]))).toBe(true));
        const st = b.stats();
        expect(st).toMatchObject({ received: 41, truncated: 0, groMalformed: 0 });
        if (gro) expect(st).toMatchObject({ groReads: 1, groDatagrams: 41, bursts: 1 });
        else expect(st).toMatchObject({ groReads: 0, groDatagrams: 0 });
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
});
