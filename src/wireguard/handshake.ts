// WireGuard's handshake messages on top of the Noise IKpsk2 code (whitepaper §5.4.2–5.4.5;
// wireguard-go device/noise-protocol.go): the per-peer HandshakeState, creating and consuming the
// initiation (with its TAI64N timestamp, replay and flood checks) and the response, and deriving
// the transport keys. mac1/mac2 are not touched here (cookie.ts fills and checks them).
//
// Messages are whole 148/92-byte Buffers; consume* functions return a reason string instead of
// throwing. Ephemeral keys and indexes are given by the caller (device.ts), so tests can fix them.
import { dh, type StaticKeys } from './crypto.js';
import { HANDSHAKE_INITIATION_RATE_MS, NOISE_CONSTRUCTION, WG_IDENTIFIER } from './constants.js';
import {
  INIT_OFF_EPHEMERAL,
  INIT_OFF_MAC1,
  INIT_OFF_SENDER,
  INITIATION_LEN,
  MSG_INITIATION,
  MSG_RESPONSE,
  RESP_OFF_EPHEMERAL,
  RESP_OFF_MAC1,
  RESP_OFF_RECEIVER,
  RESP_OFF_SENDER,
  RESPONSE_LEN,
} from './messages.js';
import {
  readFirstMessagePayload,
  readFirstMessageStatic,
  readSecondMessage,
  startHandshake,
  writeFirstMessage,
  writeSecondMessage,
  type SymmetricState,
} from './noise.js';

const PROLOGUE = Buffer.from(WG_IDENTIFIER, 'ascii');
const EMPTY = Buffer.alloc(0);
export const TIMESTAMP_LEN = 12;

export type HandshakeStage =
  'zeroed' | 'initiation-created' | 'initiation-consumed' | 'response-created' | 'response-consumed';

export class HandshakeState {
  stage: HandshakeStage = 'zeroed';
  sym: SymmetricState | null = null;
  localEphemeral: StaticKeys | null = null;
  remoteEphemeral: Buffer | null = null;
  localIndex = 0;
  remoteIndex = 0;
  /** The newest initiation timestamp accepted from this peer (replay protection). */
  lastTimestamp: Buffer = Buffer.alloc(TIMESTAMP_LEN);
  lastInitiationConsumedAt = -Infinity;
  /** DH(our static, their static), or null when their key is a low-order point. */
  readonly staticShared: Buffer | null;

  constructor(
    local: StaticKeys,
    readonly remoteStatic: Buffer,
    readonly psk: Buffer,
  ) {
    this.staticShared = dh(local.keyObject, remoteStatic);
  }

  clear(): void {
    this.stage = 'zeroed';
    this.sym = null;
    this.localEphemeral = null;
    this.remoteEphemeral = null;
    this.localIndex = 0;
  }
}

/**
 * TAI64N of a wall-clock time (nanoseconds since the Unix epoch): 8 bytes 2^62 + 10 + seconds,
 * 4 bytes nanoseconds, big-endian. Nanoseconds are rounded down to 2^24 ns as wireguard-go does,
 * so the timestamp does not leak fine timing.
 */
export function tai64n(wallNs: bigint): Buffer {
  const b = Buffer.alloc(TIMESTAMP_LEN);
  const secs = wallNs / 1_000_000_000n;
  const nanos = Number(wallNs % 1_000_000_000n) & ~0xffffff;
  b.writeBigUInt64BE((1n << 62n) + 10n + secs, 0);
  b.writeUInt32BE(nanos >>> 0, 8);
  return b;
}

function writeHeader(msg: Buffer, type: number, sender: number): void {
  msg[0] = type;
  msg.writeUInt32LE(sender >>> 0, INIT_OFF_SENDER);
}

/** A fresh initiation to hs.remoteStatic (macs zero), or null for a low-order peer key. */
export function createInitiation(
  local: StaticKeys,
  hs: HandshakeState,
  localIndex: number,
  ephemeral: StaticKeys,
  timestamp: Buffer,
): Buffer | null {
  if (!hs.staticShared) return null;
  const sym = startHandshake({
    protocolName: NOISE_CONSTRUCTION,
    prologue: PROLOGUE,
    responderStatic: hs.remoteStatic,
  });
  const body = writeFirstMessage(sym, local, ephemeral, hs.remoteStatic, hs.staticShared, timestamp);
  if (!body) return null;
  const msg = Buffer.alloc(INITIATION_LEN);
  writeHeader(msg, MSG_INITIATION, localIndex);
  body.copy(msg, INIT_OFF_EPHEMERAL);
  hs.sym = sym;
  hs.localEphemeral = ephemeral;
  hs.localIndex = localIndex;
  hs.stage = 'initiation-created';
  return msg;
}

export interface InitiationClaim {
  remoteStatic: Buffer;
  remoteEphemeral: Buffer;
  sender: number;
  sym: SymmetricState;
}

/** Step 1 of consuming an initiation: who it claims to come from; null when `s` does not decrypt. */
export function readInitiation(local: StaticKeys, msg: Buffer): InitiationClaim | null {
  const sym = startHandshake({
    protocolName: NOISE_CONSTRUCTION,
    prologue: PROLOGUE,
    responderStatic: local.publicKey,
  });
  const got = readFirstMessageStatic(sym, local, msg.subarray(INIT_OFF_EPHEMERAL, INIT_OFF_MAC1));
  if (!got) return null;
  return { ...got, sender: msg.readUInt32LE(INIT_OFF_SENDER), sym };
}

export type InitiationVerdict = 'ok' | 'bad-timestamp' | 'replayed' | 'flood';

/** Step 2, once the claimed key is a known peer's: decrypts and checks the timestamp, then updates hs. */
export function acceptInitiation(
  hs: HandshakeState,
  claim: InitiationClaim,
  msg: Buffer,
  now: number,
): InitiationVerdict {
  if (!hs.staticShared) return 'bad-timestamp';
  const sym = claim.sym;
  const timestamp = readFirstMessagePayload(sym, msg.subarray(INIT_OFF_EPHEMERAL, INIT_OFF_MAC1), hs.staticShared);
  if (!timestamp || timestamp.length !== TIMESTAMP_LEN) return 'bad-timestamp';
  if (Buffer.compare(timestamp, hs.lastTimestamp) <= 0) return 'replayed';
  if (now - hs.lastInitiationConsumedAt <= HANDSHAKE_INITIATION_RATE_MS) return 'flood';
  hs.lastTimestamp = timestamp;
  hs.lastInitiationConsumedAt = now;
  hs.sym = sym;
  hs.remoteIndex = claim.sender;
  hs.remoteEphemeral = claim.remoteEphemeral;
  hs.stage = 'initiation-consumed';
  return 'ok';
}

/** The response to a consumed initiation (macs zero), or null. */
export function createResponse(hs: HandshakeState, localIndex: number, ephemeral: StaticKeys): Buffer | null {
  if (hs.stage !== 'initiation-consumed' || !hs.sym || !hs.remoteEphemeral) return null;
  const body = writeSecondMessage(hs.sym, ephemeral, hs.remoteEphemeral, hs.remoteStatic, hs.psk, EMPTY);
  if (!body) return null;
  const msg = Buffer.alloc(RESPONSE_LEN);
  writeHeader(msg, MSG_RESPONSE, localIndex);
  msg.writeUInt32LE(hs.remoteIndex >>> 0, RESP_OFF_RECEIVER);
  body.copy(msg, RESP_OFF_EPHEMERAL);
  hs.localEphemeral = ephemeral;
  hs.localIndex = localIndex;
  hs.stage = 'response-created';
  return msg;
}

/** Consumes a response to our initiation; false when it does not authenticate. */
export function consumeResponse(local: StaticKeys, hs: HandshakeState, msg: Buffer): boolean {
  if (hs.stage !== 'initiation-created' || !hs.sym || !hs.localEphemeral) return false;
  const sym = hs.sym.clone();
  const payload = readSecondMessage(
    sym,
    local,
    hs.localEphemeral.keyObject,
    hs.psk,
    msg.subarray(RESP_OFF_EPHEMERAL, RESP_OFF_MAC1),
  );
  if (!payload || payload.length !== 0) return false;
  hs.sym = sym;
  hs.remoteIndex = msg.readUInt32LE(RESP_OFF_SENDER);
  hs.stage = 'response-consumed';
  return true;
}

export interface SessionKeys {
  sendKey: Buffer;
  recvKey: Buffer;
  isInitiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

/** The transport keys of a finished handshake (and clears it), or null when it is not finished. */
export function deriveSession(hs: HandshakeState): SessionKeys | null {
  if (!hs.sym || (hs.stage !== 'response-consumed' && hs.stage !== 'response-created')) return null;
  const isInitiator = hs.stage === 'response-consumed';
  const [initiatorKey, responderKey] = hs.sym.split();
  const keys = {
    sendKey: isInitiator ? initiatorKey : responderKey,
    recvKey: isInitiator ? responderKey : initiatorKey,
    isInitiator,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
  };
  hs.clear();
  return keys;
}
