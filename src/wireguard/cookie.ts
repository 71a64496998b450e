// mac1/mac2 and cookie replies (whitepaper §5.3, §5.4.4 and §5.4.7; wireguard-go device/cookie.go).
//
// Every handshake message ends with mac1 = MAC(HASH("mac1----" ‖ receiver's public key), msg up to
// mac1) — anyone may compute it, but only someone who knows the receiver's public key — and mac2 =
// MAC(cookie, msg up to mac2), zero unless the sender holds a fresh cookie. Under load a receiver
// answers an initiation whose mac2 is not valid with a cookie reply instead of doing Curve25519:
// cookie = MAC(secret, source address ‖ port), the secret changing every two minutes, sent
// encrypted with XChaCha20-Poly1305 under HASH("cookie--" ‖ receiver's public key), with the mac1
// of the message it answers as associated data.
//
// CookieChecker is the receiving side, one per device (our public key); CookieGenerator is the
// sending side, one per peer (the peer's public key). Times are clock milliseconds. Nothing throws
// on peer input; messages are checked/filled in place in the caller's buffer.
import { equalSecret, hash, mac, MAC_LEN, xaeadOpen, xaeadSeal, XNONCE_LEN } from './crypto.js';
import { COOKIE_REFRESH_MS, LABEL_COOKIE, LABEL_MAC1 } from './constants.js';
import type { CookieReplyRepr } from './messages.js';

const mac1Key = (publicKey: Uint8Array): Buffer => hash(Buffer.from(LABEL_MAC1), publicKey);
const cookieKey = (publicKey: Uint8Array): Buffer => hash(Buffer.from(LABEL_COOKIE), publicKey);

/** The 6 bytes a cookie is bound to: IPv4 address then UDP port, both big-endian. */
export function sourceBytes(addr: number, port: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt32BE(addr >>> 0, 0);
  b.writeUInt16BE(port, 4);
  return b;
}

export class CookieChecker {
  private readonly mac1Key: Buffer;
  private readonly encryptionKey: Buffer;
  private secret: Buffer = Buffer.alloc(32);
  private secretSetAt = -Infinity;

  constructor(
    ownPublicKey: Uint8Array,
    private readonly now: () => number,
    private readonly randomBytes: (n: number) => Buffer,
  ) {
    this.mac1Key = mac1Key(ownPublicKey);
    this.encryptionKey = cookieKey(ownPublicKey);
  }

  /** mac1 of the handshake message msg[off, off+len) is right. */
  checkMac1(msg: Buffer, off: number, len: number): boolean {
    const m1 = off + len - 2 * MAC_LEN;
    return equalSecret(mac(this.mac1Key, msg.subarray(off, m1)), msg.subarray(m1, m1 + MAC_LEN));
  }

  /** mac2 is right for a cookie we would hand this source now. */
  checkMac2(msg: Buffer, off: number, len: number, addr: number, port: number): boolean {
    if (this.now() - this.secretSetAt > COOKIE_REFRESH_MS) return false;
    const cookie = mac(this.secret, sourceBytes(addr, port));
    const m2 = off + len - MAC_LEN;
    return equalSecret(mac(cookie, msg.subarray(off, m2)), msg.subarray(m2, m2 + MAC_LEN));
  }

  /** The cookie reply to the handshake message msg[off, off+len) from addr:port. */
  createReply(msg: Buffer, off: number, len: number, receiver: number, addr: number, port: number): CookieReplyRepr {
    if (this.now() - this.secretSetAt > COOKIE_REFRESH_MS) {
      this.secret = this.randomBytes(32);
      this.secretSetAt = this.now();
    }
    const cookie = mac(this.secret, sourceBytes(addr, port));
    const m1 = off + len - 2 * MAC_LEN;
    const nonce = this.randomBytes(XNONCE_LEN);
    return {
      receiver,
      nonce,
      encryptedCookie: xaeadSeal(this.encryptionKey, nonce, cookie, msg.subarray(m1, m1 + MAC_LEN)),
    };
  }
}

export class CookieGenerator {
  private readonly mac1Key: Buffer;
  private readonly encryptionKey: Buffer;
  private cookie: Buffer = Buffer.alloc(MAC_LEN);
  private cookieSetAt = -Infinity;
  private lastMac1: Buffer | null = null;

  constructor(
    peerPublicKey: Uint8Array,
    private readonly now: () => number,
  ) {
    this.mac1Key = mac1Key(peerPublicKey);
    this.encryptionKey = cookieKey(peerPublicKey);
  }

  /** Fills mac1 and (with a fresh cookie) mac2 of the handshake message msg[off, off+len), in place. */
  addMacs(msg: Buffer, off: number, len: number): void {
    const m1 = off + len - 2 * MAC_LEN;
    const m2 = m1 + MAC_LEN;
    const mac1 = mac(this.mac1Key, msg.subarray(off, m1));
    mac1.copy(msg, m1);
    this.lastMac1 = mac1;
    if (this.now() - this.cookieSetAt > COOKIE_REFRESH_MS) {
      msg.fill(0, m2, m2 + MAC_LEN);
      return;
    }
    mac(this.cookie, msg.subarray(off, m2)).copy(msg, m2);
  }

  /** Takes the cookie from a reply to our last handshake message; false when it does not open. */
  consumeReply(reply: CookieReplyRepr): boolean {
    if (!this.lastMac1) return false;
    const cookie = xaeadOpen(this.encryptionKey, reply.nonce, reply.encryptedCookie, this.lastMac1);
    if (!cookie) return false;
    this.cookie = cookie;
    this.cookieSetAt = this.now();
    return true;
  }

  hasCookie(): boolean {
    return this.now() - this.cookieSetAt <= COOKIE_REFRESH_MS;
  }
}
