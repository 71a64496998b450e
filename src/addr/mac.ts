// Ethernet MAC addresses: parse/format "aa:bb:cc:dd:ee:ff" and random locally administered unicast
// addresses (as flannel and the kernel generate for VTEPs). A MAC is a 6-byte Buffer.
import { AddressError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

export type Mac = Buffer;

export function parseMac(text: string): Mac {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new AddressError(`not a MAC address (aa:bb:cc:dd:ee:ff): "${text}"`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A random unicast MAC with the locally-administered bit set. */
export function randomMac(rng: Rng): Mac {
  const mac = Buffer.alloc(6);
  for (let i = 0; i < 6; i++) mac[i] = rng.nextU32() & 255;
  mac[0] = (mac[0] & 0xfe) | 0x02;
  return mac;
}

export function isUnicastLocal(mac: Uint8Array): boolean {
  return (mac[0] & 1) === 0 && (mac[0] & 2) === 2;
}
