// src/node/mtu.ts: flannel's default TUN MTU per backend, the packet-slot cap for jumbo underlays,
// and a clear ConfigError for an --mtu that does not fit.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { chooseTunMtu, ENCRYPTED_TAILROOM } from '../../../src/node/mtu.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../../../src/util/buffers.js';
import { ConfigError } from '../../../src/util/errors.js';

describe('chooseTunMtu', () => {
  it('defaults to the underlay MTU minus 50 (vxlan) or 28 (udp), as flannel does', () => {
    expect(chooseTunMtu(BACKENDS.vxlan, 1500)).toBe(1450);
    expect(chooseTunMtu(BACKENDS.udp, 1500)).toBe(1472);
  });

  it('caps the default at what a packet slot holds on a jumbo underlay', () => {
    expect(chooseTunMtu(BACKENDS.vxlan, 65536)).toBe(SLOT_SIZE - PACKET_HEADROOM);
  });

  it('wireguard: underlay minus 80 as flannel computes it, and room for padding and tag in the slot', () => {
    expect(chooseTunMtu(BACKENDS.wireguard, 1500)).toBe(1420);
    expect(chooseTunMtu(BACKENDS.wireguard, 65536)).toBe(SLOT_SIZE - PACKET_HEADROOM - ENCRYPTED_TAILROOM);
  });

  it('takes a requested MTU that fits', () => {
    expect(chooseTunMtu(BACKENDS.vxlan, 1500, 1400)).toBe(1400);
    expect(chooseTunMtu(BACKENDS.vxlan, 1500, 1450)).toBe(1450);
    expect(chooseTunMtu(BACKENDS.vxlan, 1500, 576)).toBe(576);
  });

  it('rejects an MTU above the underlay minus the encapsulation, or below 576, naming the range', () => {
    for (const bad of [1451, 575]) {
      const err = (() => {
        try {
          chooseTunMtu(BACKENDS.vxlan, 1500, bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `--mtu ${bad} does not fit: it must be between 576 and 1450 (underlay MTU 1500 minus 50, at most ${SLOT_SIZE - PACKET_HEADROOM})`,
      );
    }
  });
});
