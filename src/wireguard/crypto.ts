// The cryptographic primitives WireGuard is built from (whitepaper §5.4): X25519, ChaCha20-Poly1305
// (node:crypto, the OpenSSL Node links), XChaCha20-Poly1305 for cookies (@noble/ciphers: OpenSSL
// has no XChaCha), BLAKE2s hash / keyed MAC and HMAC-BLAKE2s (@noble/hashes), and the HKDF-style
// KDF1/KDF2/KDF3 of the Noise framework.
//
// Nothing here throws on bad peer input: aeadOpen returns null when authentication fails and dh()
// returns null for a low-order public key (an all-zero shared secret). Keys given by our own code
// with the wrong length throw (a programming error). Returned buffers are fresh; inputs are not kept.
import crypto from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';

export const KEY_LEN = 32;
export const TAG_LEN = 16;
export const HASH_LEN = 32;
export const MAC_LEN = 16;
export const XNONCE_LEN = 24;

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** A Curve25519 key pair; `private` is the 32-byte scalar as WireGuard stores it. */
export interface StaticKeys {
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
  /** The private key as a node:crypto KeyObject, for diffieHellman. */
  readonly keyObject: crypto.KeyObject;
}

function exact(buf: Uint8Array, len: number, what: string): void {
  if (buf.length !== len) throw new RangeError(`${what} must be ${len} bytes, got ${buf.length}`);
}

/** Clamps a random 32-byte string into an X25519 private key (RFC 7748 §5), in place. */
export function clampPrivateKey(key: Buffer): Buffer {
  key[0] &= 248;
  key[31] = (key[31] & 127) | 64;
  return key;
}

export function privateKeyObject(privateKey: Uint8Array): crypto.KeyObject {
  exact(privateKey, KEY_LEN, 'an X25519 private key');
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateKey]), format: 'der', type: 'pkcs8' });
}

export function publicKeyObject(publicKey: Uint8Array): crypto.KeyObject {
  exact(publicKey, KEY_LEN, 'an X25519 public key');
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_X25519, publicKey]), format: 'der', type: 'spki' });
}

export function staticKeys(privateKey: Uint8Array): StaticKeys {
  const keyObject = privateKeyObject(privateKey);
  const spki = crypto.createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  return {
    privateKey: Buffer.from(privateKey),
    publicKey: Buffer.from(spki.subarray(spki.length - KEY_LEN)),
    keyObject,
  };
}

/** A fresh key pair from `randomBytes` (node:crypto's by default; tests inject a seeded one). */
export function generateKeys(randomBytes: (n: number) => Buffer = crypto.randomBytes): StaticKeys {
  return staticKeys(clampPrivateKey(randomBytes(KEY_LEN)));
}

/** X25519(private, public); null when the result is all zeros (a low-order point). */
export function dh(privateKey: crypto.KeyObject, publicKey: Uint8Array): Buffer | null {
  let out: Buffer;
  try {
    out = crypto.diffieHellman({ privateKey, publicKey: publicKeyObject(publicKey) });
  } catch {
    return null; // OpenSSL refuses an all-zero shared secret
  }
  return isZero(out) ? null : out;
}

export function isZero(buf: Uint8Array): boolean {
  let acc = 0;
  for (const b of buf) acc |= b;
  return acc === 0;
}

/** Compares two equal-length secrets in constant time; false when the lengths differ. */
export function equalSecret(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// ---- BLAKE2s and the KDF ---------------------------------------------------------------------

export function hash(...parts: Uint8Array[]): Buffer {
  const h = blake2s.create({});
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest());
}

/** Keyed BLAKE2s with a 16-byte output (MAC in the whitepaper). */
export function mac(key: Uint8Array, data: Uint8Array): Buffer {
  return Buffer.from(blake2s(data, { key, dkLen: MAC_LEN }));
}

export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = hmac.create(blake2s, key);
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest());
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

export function kdf1(key: Uint8Array, input: Uint8Array): Buffer {
  return hmacBlake2s(hmacBlake2s(key, input), ONE);
}

export function kdf2(key: Uint8Array, input: Uint8Array): [Buffer, Buffer] {
  const prk = hmacBlake2s(key, input);
  const t0 = hmacBlake2s(prk, ONE);
  const t1 = hmacBlake2s(prk, t0, TWO);
  prk.fill(0);
  return [t0, t1];
}

export function kdf3(key: Uint8Array, input: Uint8Array): [Buffer, Buffer, Buffer] {
  const prk = hmacBlake2s(key, input);
  const t0 = hmacBlake2s(prk, ONE);
  const t1 = hmacBlake2s(prk, t0, TWO);
  const t2 = hmacBlake2s(prk, t1, THREE);
  prk.fill(0);
  return [t0, t1, t2];
}

// ---- AEAD --------------------------------------------------------------------------------------

const nonceScratch = Buffer.alloc(12);

/** The 96-bit ChaCha20-Poly1305 nonce: 32 zero bits and the 64-bit little-endian counter. */
function nonce(counter: bigint): Buffer {
  nonceScratch.writeUInt32LE(0, 0);
  nonceScratch.writeBigUInt64LE(counter, 4);
  return nonceScratch;
}

/**
 * ChaCha20-Poly1305 seal of plain[pOff, pOff+pLen) under (key, counter, aad), written to out at
 * oOff: ciphertext then the 16-byte tag. `out` may be the same region as the plaintext. Returns
 * pLen + 16.
 */
export function aeadSealInto(
  key: Uint8Array,
  counter: bigint,
  plain: Buffer,
  pOff: number,
  pLen: number,
  aad: Uint8Array | undefined,
  out: Buffer,
  oOff: number,
): number {
  const c = crypto.createCipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: TAG_LEN });
  if (aad) c.setAAD(aad, { plaintextLength: pLen });
  const body = c.update(plain.subarray(pOff, pOff + pLen));
  c.final();
  body.copy(out, oOff);
  c.getAuthTag().copy(out, oOff + pLen);
  return pLen + TAG_LEN;
}

/**
 * Opens ciphertext+tag at buf[off, off+len) and writes the plaintext to out at oOff (may overlap
 * the ciphertext's start). Returns the plaintext length, or -1 when authentication fails.
 */
export function aeadOpenInto(
  key: Uint8Array,
  counter: bigint,
  buf: Buffer,
  off: number,
  len: number,
  aad: Uint8Array | undefined,
  out: Buffer,
  oOff: number,
): number {
  if (len < TAG_LEN) return -1;
  const body = len - TAG_LEN;
  try {
    const d = crypto.createDecipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: TAG_LEN });
    d.setAuthTag(buf.subarray(off + body, off + len));
    if (aad) d.setAAD(aad, { plaintextLength: body });
    const plain = d.update(buf.subarray(off, off + body));
    d.final();
    plain.copy(out, oOff);
    return body;
  } catch {
    return -1;
  }
}

export function aeadSeal(key: Uint8Array, counter: bigint, plain: Uint8Array, aad: Uint8Array): Buffer {
  const out = Buffer.alloc(plain.length + TAG_LEN);
  aeadSealInto(key, counter, Buffer.from(plain.buffer, plain.byteOffset, plain.length), 0, plain.length, aad, out, 0);
  return out;
}

export function aeadOpen(key: Uint8Array, counter: bigint, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < TAG_LEN) return null;
  const out = Buffer.alloc(sealed.length - TAG_LEN);
  const n = aeadOpenInto(
    key,
    counter,
    Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length),
    0,
    sealed.length,
    aad,
    out,
    0,
  );
  return n < 0 ? null : out;
}

export function xaeadSeal(key: Uint8Array, nonce24: Uint8Array, plain: Uint8Array, aad: Uint8Array): Buffer {
  return Buffer.from(xchacha20poly1305(key, nonce24, aad).encrypt(plain));
}

export function xaeadOpen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  try {
    return Buffer.from(xchacha20poly1305(key, nonce24, aad).decrypt(sealed));
  } catch {
    return null;
  }
}
