// A WireGuard device without sockets: it turns a peer's outgoing IP packets into transport
// messages and received datagrams into authenticated IP packets, and runs handshakes, cookies,
// key rotation and the timers (whitepaper §5–6, wireguard-go device/send.go and receive.go) on
// an injected clock. The caller gives it `send` (the underlay) and reads `receive`'s result.
//
// Buffers: seal() encrypts the packet at buf[off, off+len) in place — the 16-byte header goes in
// the headroom before off, padding and the tag after the packet — and returns the datagram's
// length (it starts at off − 16); packets waiting for a handshake are copied. receive() decrypts
// in place and returns the inner packet's offset (rxLen bytes, from rxPeer). Either returns −1 when
// there is nothing to send/deliver: the datagram was a handshake message or keepalive (consumed)
// or a drop, counted through onDrop with a WgDrop index. Nothing throws on peer input.
import crypto from 'node:crypto';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { aeadOpenInto, generateKeys, staticKeys, type StaticKeys } from './crypto.js';
import { WG_TIMINGS, type WgTimings } from './constants.js';
import { CookieChecker } from './cookie.js';
import { WgDrop } from './drops.js';
import {
  acceptInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  deriveSession,
  readInitiation,
  tai64n,
} from './handshake.js';
import { Keypair } from './keypair.js';
import * as M from './messages.js';
import { WgPeer, type Endpoint } from './peer.js';
import { PeerTimers } from './timers.js';
import { encryptTransport, LoadDetector } from './transport.js';

export interface WgDeviceOptions {
  privateKey: Buffer;
  clock: Clock;
  /** Timer jitter. */
  rng: Rng;
  /** Key material and indexes (node:crypto's by default). */
  randomBytes?: (n: number) => Buffer;
  timings?: WgTimings;
  /** The inner MTU: packets are padded to a multiple of 16, never past it. */
  mtu: number;
  send(buf: Buffer, off: number, len: number, addr: number, port: number): boolean;
  flush(): void;
  onDrop(reason: number): void;
  /** A packet that waited for a handshake was sent (seal() had returned −1 for it). */
  onStagedSent?(peer: WgPeer<unknown>, len: number): void;
  /** Handshake messages per second above which the device is under load (default 128). */
  underLoadHandshakesPerSecond?: number;
}

export interface WgPeerOptions<T> {
  publicKey: Buffer;
  psk?: Buffer;
  endpoint: Endpoint | null;
  persistentKeepaliveS?: number;
  ref: T;
}

export type { WgStats } from './peer.js';
import type { WgStats } from './peer.js';

interface IndexEntry<T> {
  peer: WgPeer<T>;
  keypair: Keypair | null;
}

export class WgDevice<T> {
  readonly keys: StaticKeys;
  readonly stats: WgStats = {
    initiationsSent: 0,
    responsesSent: 0,
    handshakesCompleted: 0,
    cookieRepliesSent: 0,
    cookieRepliesReceived: 0,
    keepalivesSent: 0,
    keepalivesReceived: 0,
  };
  /** After receive() returned an offset: the inner packet's length and its peer. */
  rxLen = 0;
  rxPeer: WgPeer<T> | null = null;
  private readonly byKey = new Map<string, WgPeer<T>>();
  private readonly index = new Map<number, IndexEntry<T>>();
  private readonly checker: CookieChecker;
  private readonly t: WgTimings;
  private readonly randomBytes: (n: number) => Buffer;
  private readonly now: () => number;
  private readonly load: LoadDetector;
  private readonly scratch = Buffer.alloc(M.INITIATION_LEN + 64);

  constructor(private readonly o: WgDeviceOptions) {
    this.keys = staticKeys(o.privateKey);
    this.t = o.timings ?? WG_TIMINGS;
    this.randomBytes = o.randomBytes ?? crypto.randomBytes;
    this.now = () => o.clock.now();
    this.checker = new CookieChecker(this.keys.publicKey, this.now, this.randomBytes);
    this.load = new LoadDetector(o.underLoadHandshakesPerSecond ?? 128, this.now);
  }

  addPeer(p: WgPeerOptions<T>): WgPeer<T> {
    const key = p.publicKey.toString('hex');
    const old = this.byKey.get(key);
    if (old) this.removePeer(old);
    const peer = new WgPeer<T>(this.keys, p.publicKey, p.psk ?? Buffer.alloc(32), p.endpoint, p.ref, this.now);
    peer.timers = new PeerTimers(this.o.clock, this.o.rng, this.t, {
      retransmitHandshake: () => this.sendInitiation(peer, true),
      sendKeepalive: () => this.sendKeepalive(peer),
      newHandshake: () => this.sendInitiation(peer, false),
      zeroKeyMaterial: () => this.zeroKeys(peer),
      giveUpHandshake: () => this.dropStaged(peer),
    });
    peer.timers.persistentKeepaliveS = p.persistentKeepaliveS ?? 0;
    this.byKey.set(key, peer);
    if (peer.timers.persistentKeepaliveS > 0 && peer.endpoint) this.sendKeepalive(peer);
    return peer;
  }

  removePeer(peer: WgPeer<T>): void {
    peer.timers.stop();
    this.zeroKeys(peer);
    this.byKey.delete(peer.publicKey.toString('hex'));
  }

  peers(): WgPeer<T>[] {
    return [...this.byKey.values()];
  }

  close(): void {
    for (const p of this.byKey.values()) this.removePeer(p);
  }

  underLoad(): boolean {
    return this.load.underLoad();
  }

  // ---- sending ----------------------------------------------------------------------------

  /** Encrypts an IP packet for `peer` in place; see the module comment. */
  seal(peer: WgPeer<T>, buf: Buffer, off: number, len: number): number {
    const kp = this.sendingKeypair(peer);
    if (!kp || !peer.endpoint) {
      this.stage(peer, buf, off, len);
      this.sendInitiation(peer, false);
      return -1;
    }
    const n = encryptTransport(kp, buf, off - M.TRANSPORT_HEADER_LEN, len, this.o.mtu);
    if (n < 0) {
      this.o.onDrop(WgDrop['wg-no-room']);
      return -1;
    }
    this.afterDataSent(peer, kp, len);
    return n;
  }

  private sendingKeypair(peer: WgPeer<T>): Keypair | null {
    const kp = peer.keypairs.current;
    if (!kp || this.now() - kp.createdAt >= this.t.rejectAfterTimeMs || kp.sendCounter >= this.t.rejectAfterMessages)
      return null;
    return kp;
  }

  private afterDataSent(peer: WgPeer<T>, kp: Keypair, len: number): void {
    peer.stats.txBytes += len;
    const timers = peer.timers;
    timers.onAnyAuthenticatedTraversal();
    timers.onAnyAuthenticatedSent();
    if (len > 0) timers.onDataSent();
    // keep the key fresh: rekey after REKEY_AFTER_MESSAGES, or as initiator after REKEY_AFTER_TIME
    if (
      kp.sendCounter > this.t.rekeyAfterMessages ||
      (kp.isInitiator && this.now() - kp.createdAt >= this.t.rekeyAfterTimeMs)
    ) {
      this.sendInitiation(peer, false);
    }
  }

  private stage(peer: WgPeer<T>, buf: Buffer, off: number, len: number): void {
    if (peer.stage(buf, off, len)) this.o.onDrop(WgDrop['wg-no-session']);
  }

  private dropStaged(peer: WgPeer<T>): void {
    for (let n = peer.takeStaged().length; n > 0; n--) this.o.onDrop(WgDrop['wg-no-session']);
  }

  /** Sends what is staged, or a keepalive when nothing is (wireguard-go SendKeepalive). */
  private sendKeepalive(peer: WgPeer<T>): void {
    if (peer.staged.length === 0) peer.staged.push({ buf: this.scratch, len: 0 });
    this.sendStaged(peer);
  }

  private sendStaged(peer: WgPeer<T>): void {
    const kp = this.sendingKeypair(peer);
    const ep = peer.endpoint;
    if (!kp || !ep) {
      this.sendInitiation(peer, false);
      return;
    }
    const staged = peer.takeStaged();
    for (const { buf, len } of staged) {
      const n = encryptTransport(kp, buf, 0, len, this.o.mtu);
      if (n < 0) continue;
      this.o.send(buf, 0, n, ep.addr, ep.port);
      if (len === 0) this.stats.keepalivesSent++;
      else this.o.onStagedSent?.(peer, len);
      this.afterDataSent(peer, kp, len);
    }
    this.o.flush();
  }

  private sendInitiation(peer: WgPeer<T>, isRetry: boolean): void {
    if (!isRetry) peer.timers.handshakeAttempts = 0;
    const now = this.now();
    if (now - peer.lastSentHandshakeAt < this.t.rekeyTimeoutMs || !peer.endpoint) return;
    peer.lastSentHandshakeAt = now;
    if (peer.hs.localIndex) this.index.delete(peer.hs.localIndex);
    const idx = this.newIndex({ peer, keypair: null });
    const msg = createInitiation(
      this.keys,
      peer.hs,
      idx,
      generateKeys(this.randomBytes),
      tai64n(this.o.clock.wallNs()),
    );
    if (!msg) {
      this.index.delete(idx);
      return;
    }
    peer.cookies.addMacs(msg, 0, msg.length);
    this.o.send(msg, 0, msg.length, peer.endpoint.addr, peer.endpoint.port);
    this.o.flush();
    this.stats.initiationsSent++;
    peer.timers.onAnyAuthenticatedTraversal();
    peer.timers.onAnyAuthenticatedSent();
    peer.timers.onHandshakeInitiated();
  }

  private newIndex(entry: IndexEntry<T>): number {
    for (;;) {
      const idx = this.randomBytes(4).readUInt32LE(0);
      if (idx !== 0 && !this.index.has(idx)) {
        this.index.set(idx, entry);
        return idx;
      }
    }
  }

  private forget(keypairs: Keypair[]): void {
    for (const k of keypairs) if (this.index.get(k.localIndex)?.keypair === k) this.index.delete(k.localIndex);
  }

  private zeroKeys(peer: WgPeer<T>): void {
    this.forget(peer.keypairs.clear());
    if (peer.hs.localIndex && this.index.get(peer.hs.localIndex)?.keypair === null)
      this.index.delete(peer.hs.localIndex);
    peer.hs.clear();
  }

  // ---- receiving --------------------------------------------------------------------------

  /** Handles one datagram from addr:port; see the module comment. */
  receive(buf: Buffer, off: number, len: number, addr: number, port: number): number {
    const kind = M.classify(buf, off, len);
    if (kind === M.MSG_TRANSPORT) return this.receiveTransport(buf, off, len, addr, port);
    if (typeof kind === 'string') return this.drop('wg-malformed');
    if (kind === M.MSG_COOKIE_REPLY) return this.receiveCookieReply(buf, off, len);
    if (!this.checker.checkMac1(buf, off, len)) return this.drop('wg-bad-mac1');
    if (this.load.note() && !this.checker.checkMac2(buf, off, len, addr, port)) {
      const reply = this.checker.createReply(buf, off, len, buf.readUInt32LE(off + M.INIT_OFF_SENDER), addr, port);
      M.emitCookieReply(reply, this.scratch, 0);
      this.o.send(this.scratch, 0, M.COOKIE_REPLY_LEN, addr, port);
      this.o.flush();
      this.stats.cookieRepliesSent++;
      return this.drop('wg-under-load');
    }
    const msg = Buffer.from(buf.subarray(off, off + len));
    return kind === M.MSG_INITIATION ? this.receiveInitiation(msg, addr, port) : this.receiveResponse(msg, addr, port);
  }

  private drop(reason: keyof typeof WgDrop): number {
    this.o.onDrop(WgDrop[reason]);
    return -1;
  }

  private receiveInitiation(msg: Buffer, addr: number, port: number): number {
    const claim = readInitiation(this.keys, msg);
    if (!claim) return this.drop('wg-handshake-failed');
    const peer = this.byKey.get(claim.remoteStatic.toString('hex'));
    if (!peer) return this.drop('wg-unknown-key');
    const verdict = acceptInitiation(peer.hs, claim, msg, this.now());
    if (verdict !== 'ok')
      return this.drop(
        verdict === 'replayed'
          ? 'wg-handshake-replayed'
          : verdict === 'flood'
            ? 'wg-handshake-flood'
            : 'wg-handshake-failed',
      );
    peer.endpoint = { addr, port };
    peer.timers.onAnyAuthenticatedTraversal();
    peer.timers.onAnyAuthenticatedReceived();
    if (peer.hs.localIndex && this.index.get(peer.hs.localIndex)?.keypair === null)
      this.index.delete(peer.hs.localIndex);
    const entry: IndexEntry<T> = { peer, keypair: null };
    const idx = this.newIndex(entry);
    const resp = createResponse(peer.hs, idx, generateKeys(this.randomBytes));
    const keys = resp && deriveSession(peer.hs);
    if (!resp || !keys) {
      this.index.delete(idx);
      return this.drop('wg-handshake-failed');
    }
    this.installSession(peer, entry, keys);
    peer.cookies.addMacs(resp, 0, resp.length);
    peer.timers.onAnyAuthenticatedTraversal();
    this.o.send(resp, 0, resp.length, addr, port);
    this.o.flush();
    this.stats.responsesSent++;
    peer.timers.onAnyAuthenticatedSent();
    return -1;
  }

  private receiveResponse(msg: Buffer, addr: number, port: number): number {
    const receiver = msg.readUInt32LE(M.RESP_OFF_RECEIVER);
    const entry = this.index.get(receiver);
    if (!entry || entry.keypair !== null || entry.peer.hs.localIndex !== receiver) return this.drop('wg-unknown-index');
    const peer = entry.peer;
    if (!consumeResponse(this.keys, peer.hs, msg)) return this.drop('wg-handshake-failed');
    const keys = deriveSession(peer.hs)!;
    peer.endpoint = { addr, port };
    peer.timers.onAnyAuthenticatedTraversal();
    peer.timers.onAnyAuthenticatedReceived();
    this.installSession(peer, entry, keys);
    peer.timers.onHandshakeComplete();
    this.sendKeepalive(peer); // confirms the session to the responder (or sends what was staged)
    return -1;
  }

  private installSession(
    peer: WgPeer<T>,
    entry: IndexEntry<T>,
    keys: NonNullable<ReturnType<typeof deriveSession>>,
  ): void {
    const kp = new Keypair(keys, this.now());
    entry.keypair = kp;
    this.forget(peer.keypairs.install(kp));
    peer.stats.handshakesCompleted++;
    peer.stats.lastHandshakeAt = this.now();
    this.stats.handshakesCompleted++;
    peer.timers.onSessionDerived();
  }

  private receiveCookieReply(buf: Buffer, off: number, len: number): number {
    const parsed = M.parseCookieReply(buf, off, len);
    if (!parsed.ok) return this.drop('wg-malformed');
    const entry = this.index.get(parsed.value.receiver);
    if (!entry) return this.drop('wg-unknown-index');
    if (!entry.peer.cookies.consumeReply(parsed.value)) return this.drop('wg-bad-cookie');
    this.stats.cookieRepliesReceived++;
    return -1;
  }

  private receiveTransport(buf: Buffer, off: number, len: number, addr: number, port: number): number {
    const entry = this.index.get(M.messageReceiver(buf, off, M.MSG_TRANSPORT));
    const kp = entry?.keypair;
    if (!entry || !kp) return this.drop('wg-unknown-index');
    const counter = M.transportCounter(buf, off);
    if (this.now() - kp.createdAt >= this.t.rejectAfterTimeMs || counter >= this.t.rejectAfterMessages)
      return this.drop('wg-stale-key');
    const body = off + M.TRANSPORT_HEADER_LEN;
    const n = aeadOpenInto(kp.recvKey, counter, buf, body, len - M.TRANSPORT_HEADER_LEN, undefined, buf, body);
    if (n < 0) return this.drop('wg-decrypt-failed');
    if (!kp.replay.validate(counter, this.t.rejectAfterMessages)) return this.drop('wg-replayed');
    const peer = entry.peer;
    const rotated = peer.keypairs.confirm(kp);
    if (rotated) {
      this.forget(rotated);
      peer.timers.onHandshakeComplete();
      if (peer.staged.length > 0) this.sendStaged(peer);
    }
    const cur = peer.keypairs.current;
    const lastMinute = this.t.rejectAfterTimeMs - this.t.keepaliveTimeoutMs - this.t.rekeyTimeoutMs;
    if (cur && cur.isInitiator && !peer.timers.sentLastMinuteHandshake && this.now() - cur.createdAt >= lastMinute) {
      peer.timers.sentLastMinuteHandshake = true;
      this.sendInitiation(peer, false);
    }
    if (!peer.endpoint || peer.endpoint.addr !== addr || peer.endpoint.port !== port) peer.endpoint = { addr, port };
    peer.timers.onAnyAuthenticatedTraversal();
    peer.timers.onAnyAuthenticatedReceived();
    if (n === 0) {
      this.stats.keepalivesReceived++;
      return -1;
    }
    peer.timers.onDataReceived();
    peer.stats.rxBytes += n;
    this.rxLen = n;
    this.rxPeer = peer;
    return body;
  }
}
