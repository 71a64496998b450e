// The TUN MTU policy of a node: by default flannel's (the underlay MTU minus the outer IPv4+UDP
// headers and the backend's own header), never more than a packet slot holds (util/buffers.ts), so
// a jumbo underlay (loopback's 65536) still gets a TUN MTU that fits; an encrypted backend also
// keeps room in the slot for its padding (< 16 bytes) and 16-byte tag behind the packet. Pure; chooseTunMtu throws
// ConfigError naming --mtu and the allowed range when a requested MTU does not fit.
import { defaultMtu } from '../backend/table.js';
import type { Backend } from '../dataplane/backends.js';
import { PACKET_HEADROOM, SLOT_SIZE } from '../util/buffers.js';
import { ConfigError } from '../util/errors.js';

/** The smallest MTU an IPv4 host must accept. */
export const MIN_TUN_MTU = 576;

/** What an encrypted backend appends behind a packet in its slot: padding (< 16) and a 16-byte tag. */
export const ENCRYPTED_TAILROOM = 32;

export function chooseTunMtu(backend: Backend, underlayMtu: number, requested?: number): number {
  const encapsulation = backend.overhead;
  const tailroom = backend.encrypted ? ENCRYPTED_TAILROOM : 0;
  const slotLimit = SLOT_SIZE - PACKET_HEADROOM - tailroom;
  const limit = Math.min(underlayMtu - encapsulation, slotLimit);
  const mtu = requested ?? Math.min(defaultMtu(backend, underlayMtu), limit);
  if (mtu < MIN_TUN_MTU || mtu > limit) {
    throw new ConfigError(
      `--mtu ${mtu} does not fit: it must be between ${MIN_TUN_MTU} and ${limit} ` +
        `(underlay MTU ${underlayMtu} minus ${encapsulation}, at most ${slotLimit})`,
    );
  }
  return mtu;
}
