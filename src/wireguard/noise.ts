// The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake (noiseprotocol.org rev. 34, §5 and §9) that
// WireGuard runs (whitepaper §5.4.2–5.4.4), independent of WireGuard's message framing:
//
//   <- s
//   ...
//   -> e, es, s, ss, {payload}
//   <- e, ee, se, psk, {payload}
//
// With prologue "WireGuard v1 zx2c4 Jason@zx2c4.com" and a 12-byte TAI64N payload in the first
// message and an empty one in the second this is exactly WireGuard's; handshake.ts adds the
// framing. Taking the prologue and payloads as parameters lets the tests run public Noise test
// vectors (cacophony) through the same code.
//
// Failures on peer input (a bad tag, a low-order key) return null, never throw. Returned buffers
// are fresh.
import type crypto from 'node:crypto';
import { aeadOpen, aeadSeal, dh, hash, kdf2, kdf3, KEY_LEN, TAG_LEN, type StaticKeys } from './crypto.js';

const EMPTY = new Uint8Array(0);

/** Noise's SymmetricState: chaining key, handshake hash, and the current cipher key with its nonce. */
export class SymmetricState {
  ck: Buffer;
  h: Buffer;
  private k: Buffer | null = null;
  private n = 0n;

  private constructor(ck: Buffer, h: Buffer) {
    this.ck = ck;
    this.h = h;
  }

  /** InitializeSymmetric(protocolName) followed by MixHash(prologue). */
  static initialize(protocolName: string, prologue: Uint8Array): SymmetricState {
    const name = Buffer.from(protocolName, 'ascii');
    const h = name.length <= 32 ? Buffer.concat([name, Buffer.alloc(32 - name.length)]) : hash(name);
    const s = new SymmetricState(Buffer.from(h), h);
    s.mixHash(prologue);
    return s;
  }

  clone(): SymmetricState {
    const s = new SymmetricState(Buffer.from(this.ck), Buffer.from(this.h));
    s.k = this.k && Buffer.from(this.k);
    s.n = this.n;
    return s;
  }

  mixHash(data: Uint8Array): void {
    this.h = hash(this.h, data);
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = kdf2(this.ck, ikm);
    this.ck = ck;
    this.k = k;
    this.n = 0n;
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, t, k] = kdf3(this.ck, ikm);
    this.ck = ck;
    this.mixHash(t);
    this.k = k;
    this.n = 0n;
  }

  encryptAndHash(plain: Uint8Array): Buffer {
    if (!this.k) throw new Error('encryptAndHash before a key was mixed in'); // never in IKpsk2
    const c = aeadSeal(this.k, this.n++, plain, this.h);
    this.mixHash(c);
    return c;
  }

  decryptAndHash(sealed: Uint8Array): Buffer | null {
    if (!this.k) return null;
    const p = aeadOpen(this.k, this.n, sealed, this.h);
    if (!p) return null;
    this.n++;
    this.mixHash(sealed);
    return p;
  }

  /** Split(): the initiator's sending key first, then the responder's. */
  split(): [Buffer, Buffer] {
    return kdf2(this.ck, EMPTY);
  }
}

export interface IkContext {
  protocolName: string;
  prologue: Uint8Array;
  /** The responder's static public key (the pre-message `<- s`). */
  responderStatic: Uint8Array;
}

export function startHandshake(ctx: IkContext): SymmetricState {
  const s = SymmetricState.initialize(ctx.protocolName, ctx.prologue);
  s.mixHash(ctx.responderStatic);
  return s;
}

/** Bytes of the first message after its payload is added: e (32) + s (32+16) + payload + 16. */
export const firstMessageLen = (payloadLen: number): number => KEY_LEN + KEY_LEN + TAG_LEN + payloadLen + TAG_LEN;
export const secondMessageLen = (payloadLen: number): number => KEY_LEN + payloadLen + TAG_LEN;

function ephemeralToken(s: SymmetricState, pub: Uint8Array): void {
  s.mixHash(pub);
  s.mixKey(pub); // psk handshakes mix e into the key too (Noise §9.2)
}

/**
 * Initiator, message 1. `s` comes from startHandshake(); `staticShared` is DH(s_i, s_r), which a
 * WireGuard peer precomputes. Returns the message bytes, or null for a low-order remote key.
 */
export function writeFirstMessage(
  s: SymmetricState,
  local: StaticKeys,
  ephemeral: StaticKeys,
  remoteStatic: Uint8Array,
  staticShared: Uint8Array,
  payload: Uint8Array,
): Buffer | null {
  ephemeralToken(s, ephemeral.publicKey);
  const es = dh(ephemeral.keyObject, remoteStatic);
  if (!es) return null;
  s.mixKey(es);
  const encStatic = s.encryptAndHash(local.publicKey);
  s.mixKey(staticShared);
  const encPayload = s.encryptAndHash(payload);
  return Buffer.concat([ephemeral.publicKey, encStatic, encPayload]);
}

export interface FirstMessageRead {
  remoteEphemeral: Buffer;
  remoteStatic: Buffer;
  payload: Buffer;
}

/**
 * Responder, message 1, in two steps as a responder needs: readFirstMessageStatic() learns who the
 * initiator claims to be; the caller looks the key up and gives DH(s_r, s_i) to
 * readFirstMessagePayload(). Both return null when a tag does not verify.
 */
export function readFirstMessageStatic(
  s: SymmetricState,
  local: StaticKeys,
  msg: Uint8Array,
): { remoteEphemeral: Buffer; remoteStatic: Buffer } | null {
  if (msg.length < firstMessageLen(0)) return null;
  const remoteEphemeral = Buffer.from(msg.subarray(0, KEY_LEN));
  ephemeralToken(s, remoteEphemeral);
  const es = dh(local.keyObject, remoteEphemeral);
  if (!es) return null;
  s.mixKey(es);
  const remoteStatic = s.decryptAndHash(msg.subarray(KEY_LEN, KEY_LEN * 2 + TAG_LEN));
  if (!remoteStatic) return null;
  return { remoteEphemeral, remoteStatic };
}

export function readFirstMessagePayload(s: SymmetricState, msg: Uint8Array, staticShared: Uint8Array): Buffer | null {
  s.mixKey(staticShared);
  return s.decryptAndHash(msg.subarray(KEY_LEN * 2 + TAG_LEN));
}

/** Responder, message 2. Returns null for a low-order key. */
export function writeSecondMessage(
  s: SymmetricState,
  ephemeral: StaticKeys,
  remoteEphemeral: Uint8Array,
  remoteStatic: Uint8Array,
  psk: Uint8Array,
  payload: Uint8Array,
): Buffer | null {
  ephemeralToken(s, ephemeral.publicKey);
  const ee = dh(ephemeral.keyObject, remoteEphemeral);
  const se = dh(ephemeral.keyObject, remoteStatic);
  if (!ee || !se) return null;
  s.mixKey(ee);
  s.mixKey(se);
  s.mixKeyAndHash(psk);
  return Buffer.concat([ephemeral.publicKey, s.encryptAndHash(payload)]);
}

/** Initiator, message 2: the payload, or null when the keys or the tag do not check out. */
export function readSecondMessage(
  s: SymmetricState,
  local: StaticKeys,
  ephemeral: crypto.KeyObject,
  psk: Uint8Array,
  msg: Uint8Array,
): Buffer | null {
  if (msg.length < secondMessageLen(0)) return null;
  const remoteEphemeral = msg.subarray(0, KEY_LEN);
  ephemeralToken(s, remoteEphemeral);
  const ee = dh(ephemeral, remoteEphemeral);
  const se = dh(local.keyObject, remoteEphemeral);
  if (!ee || !se) return null;
  s.mixKey(ee);
  s.mixKey(se);
  s.mixKeyAndHash(psk);
  return s.decryptAndHash(msg.subarray(KEY_LEN));
}
