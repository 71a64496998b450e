// Codecs of the four WireGuard messages (whitepaper §5.4.2–5.4.6; wireguard-go
// device/noise-protocol.go). Every field is little-endian; the first byte is the type and the next
// three are zero, so a message's type is the 32-bit word at offset 0.
//
//   initiation  148 B: type 1 | sender u32 | ephemeral 32 | static 32+16 | timestamp 12+16 | mac1 16 | mac2 16
//   response     92 B: type 2 | sender u32 | receiver u32 | ephemeral 32 | empty 0+16 | mac1 16 | mac2 16
//   cookie reply 64 B: type 3 | receiver u32 | nonce 24 | cookie 16+16
//   transport  ≥ 32 B: type 4 | receiver u32 | counter u64 | packet + 16-byte tag
//
// Two levels, as src/wire: accessors over (buf, off) for the hot path, valid after classify()
// returned the kind; and plain repr objects with parse/emit for handshakes and tests. Nothing
// throws on bad bytes: classify() and the parse functions return a problem instead. Parsed reprs
// hold copies, never views into the caller's buffer.

export const MSG_INITIATION = 1;
export const MSG_RESPONSE = 2;
export const MSG_COOKIE_REPLY = 3;
export const MSG_TRANSPORT = 4;

export const INITIATION_LEN = 148;
export const RESPONSE_LEN = 92;
export const COOKIE_REPLY_LEN = 64;
export const TRANSPORT_HEADER_LEN = 16;
/** A transport message with an empty payload (a keepalive): header + tag. */
export const KEEPALIVE_LEN = TRANSPORT_HEADER_LEN + 16;

export const INIT_OFF_SENDER = 4;
export const INIT_OFF_EPHEMERAL = 8;
export const INIT_OFF_STATIC = 40;
export const INIT_OFF_TIMESTAMP = 88;
export const INIT_OFF_MAC1 = 116;
export const INIT_OFF_MAC2 = 132;
export const RESP_OFF_SENDER = 4;
export const RESP_OFF_RECEIVER = 8;
export const RESP_OFF_EPHEMERAL = 12;
export const RESP_OFF_EMPTY = 44;
export const RESP_OFF_MAC1 = 60;
export const RESP_OFF_MAC2 = 76;
export const COOKIE_OFF_RECEIVER = 4;
export const COOKIE_OFF_NONCE = 8;
export const COOKIE_OFF_COOKIE = 32;
export const TRANSPORT_OFF_RECEIVER = 4;
export const TRANSPORT_OFF_COUNTER = 8;

export type MessageProblem = 'truncated' | 'bad-type' | 'bad-length';

/** The message kind (1–4) of buf[off, off+len), or the reason it is not a well-formed message. */
export function classify(buf: Uint8Array, off: number, len: number): number | MessageProblem {
  if (len < 4 || off < 0 || off + len > buf.length) return 'truncated';
  if (buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) return 'bad-type';
  const t = buf[off];
  switch (t) {
    case MSG_INITIATION:
      return len === INITIATION_LEN ? t : len < INITIATION_LEN ? 'truncated' : 'bad-length';
    case MSG_RESPONSE:
      return len === RESPONSE_LEN ? t : len < RESPONSE_LEN ? 'truncated' : 'bad-length';
    case MSG_COOKIE_REPLY:
      return len === COOKIE_REPLY_LEN ? t : len < COOKIE_REPLY_LEN ? 'truncated' : 'bad-length';
    case MSG_TRANSPORT:
      return len >= KEEPALIVE_LEN ? t : 'truncated';
    default:
      return 'bad-type';
  }
}

function u32(buf: Uint8Array, off: number): number {
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** The receiver index of a response, cookie reply or transport message (offset 8, 4, 4). */
export function messageReceiver(buf: Uint8Array, off: number, kind: number): number {
  return u32(buf, off + (kind === MSG_RESPONSE ? RESP_OFF_RECEIVER : TRANSPORT_OFF_RECEIVER));
}

export function transportCounter(buf: Buffer, off: number): bigint {
  return buf.readBigUInt64LE(off + TRANSPORT_OFF_COUNTER);
}

/** Writes a transport header (type 4, receiver, counter) at off. */
export function writeTransportHeader(buf: Buffer, off: number, receiver: number, counter: bigint): void {
  putU32(buf, off, MSG_TRANSPORT);
  putU32(buf, off + TRANSPORT_OFF_RECEIVER, receiver);
  buf.writeBigUInt64LE(counter, off + TRANSPORT_OFF_COUNTER);
}

// ---- reprs ------------------------------------------------------------------------------------

export interface InitiationRepr {
  sender: number;
  ephemeral: Buffer; // 32
  encryptedStatic: Buffer; // 48
  encryptedTimestamp: Buffer; // 28
  mac1: Buffer; // 16
  mac2: Buffer; // 16
}

export interface ResponseRepr {
  sender: number;
  receiver: number;
  ephemeral: Buffer; // 32
  encryptedNothing: Buffer; // 16
  mac1: Buffer;
  mac2: Buffer;
}

export interface CookieReplyRepr {
  receiver: number;
  nonce: Buffer; // 24
  encryptedCookie: Buffer; // 32
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: MessageProblem };

function copy(buf: Uint8Array, from: number, len: number): Buffer {
  return Buffer.from(buf.subarray(from, from + len));
}

function expect(buf: Uint8Array, off: number, len: number, kind: number): MessageProblem | undefined {
  const k = classify(buf, off, len);
  if (typeof k === 'string') return k;
  return k === kind ? undefined : 'bad-type';
}

export function parseInitiation(buf: Uint8Array, off: number, len: number): Parsed<InitiationRepr> {
  const problem = expect(buf, off, len, MSG_INITIATION);
  if (problem) return { ok: false, problem };
  return {
    ok: true,
    value: {
      sender: u32(buf, off + INIT_OFF_SENDER),
      ephemeral: copy(buf, off + INIT_OFF_EPHEMERAL, 32),
      encryptedStatic: copy(buf, off + INIT_OFF_STATIC, 48),
      encryptedTimestamp: copy(buf, off + INIT_OFF_TIMESTAMP, 28),
      mac1: copy(buf, off + INIT_OFF_MAC1, 16),
      mac2: copy(buf, off + INIT_OFF_MAC2, 16),
    },
  };
}

export function emitInitiation(m: InitiationRepr, buf: Uint8Array = Buffer.alloc(INITIATION_LEN), off = 0): Uint8Array {
  buf.fill(0, off, off + INITIATION_LEN);
  buf[off] = MSG_INITIATION;
  putU32(buf, off + INIT_OFF_SENDER, m.sender);
  buf.set(m.ephemeral.subarray(0, 32), off + INIT_OFF_EPHEMERAL);
  buf.set(m.encryptedStatic.subarray(0, 48), off + INIT_OFF_STATIC);
  buf.set(m.encryptedTimestamp.subarray(0, 28), off + INIT_OFF_TIMESTAMP);
  buf.set(m.mac1.subarray(0, 16), off + INIT_OFF_MAC1);
  buf.set(m.mac2.subarray(0, 16), off + INIT_OFF_MAC2);
  return buf;
}

export function parseResponse(buf: Uint8Array, off: number, len: number): Parsed<ResponseRepr> {
  const problem = expect(buf, off, len, MSG_RESPONSE);
  if (problem) return { ok: false, problem };
  return {
    ok: true,
    value: {
      sender: u32(buf, off + RESP_OFF_SENDER),
      receiver: u32(buf, off + RESP_OFF_RECEIVER),
      ephemeral: copy(buf, off + RESP_OFF_EPHEMERAL, 32),
      encryptedNothing: copy(buf, off + RESP_OFF_EMPTY, 16),
      mac1: copy(buf, off + RESP_OFF_MAC1, 16),
      mac2: copy(buf, off + RESP_OFF_MAC2, 16),
    },
  };
}

export function emitResponse(m: ResponseRepr, buf: Uint8Array = Buffer.alloc(RESPONSE_LEN), off = 0): Uint8Array {
  buf.fill(0, off, off + RESPONSE_LEN);
  buf[off] = MSG_RESPONSE;
  putU32(buf, off + RESP_OFF_SENDER, m.sender);
  putU32(buf, off + RESP_OFF_RECEIVER, m.receiver);
  buf.set(m.ephemeral.subarray(0, 32), off + RESP_OFF_EPHEMERAL);
  buf.set(m.encryptedNothing.subarray(0, 16), off + RESP_OFF_EMPTY);
  buf.set(m.mac1.subarray(0, 16), off + RESP_OFF_MAC1);
  buf.set(m.mac2.subarray(0, 16), off + RESP_OFF_MAC2);
  return buf;
}

export function parseCookieReply(buf: Uint8Array, off: number, len: number): Parsed<CookieReplyRepr> {
  const problem = expect(buf, off, len, MSG_COOKIE_REPLY);
  if (problem) return { ok: false, problem };
  return {
    ok: true,
    value: {
      receiver: u32(buf, off + COOKIE_OFF_RECEIVER),
      nonce: copy(buf, off + COOKIE_OFF_NONCE, 24),
      encryptedCookie: copy(buf, off + COOKIE_OFF_COOKIE, 32),
    },
  };
}

export function emitCookieReply(
  m: CookieReplyRepr,
  buf: Uint8Array = Buffer.alloc(COOKIE_REPLY_LEN),
  off = 0,
): Uint8Array {
  buf.fill(0, off, off + COOKIE_REPLY_LEN);
  buf[off] = MSG_COOKIE_REPLY;
  putU32(buf, off + COOKIE_OFF_RECEIVER, m.receiver);
  buf.set(m.nonce.subarray(0, 24), off + COOKIE_OFF_NONCE);
  buf.set(m.encryptedCookie.subarray(0, 32), off + COOKIE_OFF_COOKIE);
  return buf;
}
