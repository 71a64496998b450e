// What a WireGuard device keeps per peer: its keys, handshake state, cookie generator, the three
// session slots, timers, the packets staged while a handshake runs, and its current endpoint
// (updated only after an authenticated packet from it: WireGuard's roaming). `ref` is the caller's
// handle for the peer (the data path's route entry). Plain state; device.ts drives it.
import type { StaticKeys } from './crypto.js';
import { MAX_STAGED_PACKETS, PADDING_MULTIPLE } from './constants.js';
import { CookieGenerator } from './cookie.js';
import { TAG_LEN } from './crypto.js';
import { TRANSPORT_HEADER_LEN } from './messages.js';
import { HandshakeState } from './handshake.js';
import { Keypairs } from './keypair.js';
import type { PeerTimers } from './timers.js';

export interface Endpoint {
  addr: number;
  port: number;
}

export interface WgStats {
  initiationsSent: number;
  responsesSent: number;
  handshakesCompleted: number;
  cookieRepliesSent: number;
  cookieRepliesReceived: number;
  keepalivesSent: number;
  keepalivesReceived: number;
}

export interface WgPeerStats {
  txBytes: number;
  rxBytes: number;
  handshakesCompleted: number;
  /** Clock time (ms) of the last completed handshake, or -1. */
  lastHandshakeAt: number;
}

export class WgPeer<T> {
  endpoint: Endpoint | null;
  readonly hs: HandshakeState;
  readonly cookies: CookieGenerator;
  readonly keypairs = new Keypairs();
  timers!: PeerTimers;
  /** Packets waiting for a session: each at buf[16, 16+len), with room for padding and tag. */
  staged: Array<{ buf: Buffer; len: number }> = [];
  lastSentHandshakeAt = -Infinity;
  readonly stats: WgPeerStats = { txBytes: 0, rxBytes: 0, handshakesCompleted: 0, lastHandshakeAt: -1 };

  constructor(
    local: StaticKeys,
    readonly publicKey: Buffer,
    psk: Buffer,
    endpoint: Endpoint | null,
    public ref: T,
    now: () => number,
  ) {
    this.endpoint = endpoint;
    this.hs = new HandshakeState(local, publicKey, psk);
    this.cookies = new CookieGenerator(publicKey, now);
  }

  /**
   * Keeps a copy of buf[off, off+len) until a session exists (room left for header, padding and
   * tag); true when the queue was full and its oldest packet was dropped for it.
   */
  stage(buf: Buffer, off: number, len: number): boolean {
    const full = this.staged.length >= MAX_STAGED_PACKETS;
    if (full) this.staged.shift();
    const copy = Buffer.alloc(TRANSPORT_HEADER_LEN + len + PADDING_MULTIPLE + TAG_LEN);
    buf.copy(copy, TRANSPORT_HEADER_LEN, off, off + len);
    this.staged.push({ buf: copy, len });
    return full;
  }

  /** Empties the staging queue, returning what it held. */
  takeStaged(): Array<{ buf: Buffer; len: number }> {
    const out = this.staged;
    this.staged = [];
    return out;
  }
}
