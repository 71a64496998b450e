// Transport messages (whitepaper §5.4.6): a packet encrypted in place under a keypair's send key
// with its next counter, padded with zeros to a multiple of 16 bytes but never past the MTU
// (wireguard-go calculatePaddingSize), behind the 16-byte header. Also the under-load detector
// that decides when handshake messages get cookie replies instead of answers.
//
// encryptTransport() returns the datagram length, or -1 when the buffer has no room for padding
// and tag; it never throws. The buffer stays the caller's.
import { aeadSealInto, TAG_LEN } from './crypto.js';
import { PADDING_MULTIPLE } from './constants.js';
import type { Keypair } from './keypair.js';
import { TRANSPORT_HEADER_LEN, writeTransportHeader } from './messages.js';

/** The plaintext length after padding: round up to 16, never past the MTU. */
export function paddedLength(len: number, mtu: number): number {
  if (len === 0) return 0;
  const last = mtu > 0 && len > mtu ? len % mtu : len;
  let padded = Math.ceil(last / PADDING_MULTIPLE) * PADDING_MULTIPLE;
  if (mtu > 0 && padded > mtu) padded = mtu;
  return len + (padded - last);
}

/** Header at start, plaintext of `len` bytes at start + 16; encrypts in place. */
export function encryptTransport(kp: Keypair, buf: Buffer, start: number, len: number, mtu: number): number {
  const padded = paddedLength(len, mtu);
  const body = start + TRANSPORT_HEADER_LEN;
  if (start < 0 || body + padded + TAG_LEN > buf.length) return -1;
  buf.fill(0, body + len, body + padded);
  const counter = kp.sendCounter++;
  writeTransportHeader(buf, start, kp.remoteIndex, counter);
  aeadSealInto(kp.sendKey, counter, buf, body, padded, undefined, buf, body);
  return TRANSPORT_HEADER_LEN + padded + TAG_LEN;
}

/**
 * Counts handshake messages per one-second window; once more than `limit` arrive in a window the
 * device is under load for the next second (wireguard-go: a handshake queue backlog, then
 * UnderLoadAfterTime = 1 s).
 */
export class LoadDetector {
  private windowStart = -Infinity;
  private count = 0;
  private until = -Infinity;

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Notes one handshake message; true while under load. */
  note(): boolean {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    if (++this.count > this.limit) this.until = now + 1000;
    return now < this.until;
  }

  underLoad(): boolean {
    return this.now() < this.until;
  }
}
