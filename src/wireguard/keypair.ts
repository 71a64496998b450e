// Transport sessions (whitepaper §5.4.6, §6.3; wireguard-go device/keypair.go and
// BeginSymmetricSession/ReceivedWithKeypair in noise-protocol.go): a Keypair holds one
// handshake's send and receive keys, the next send counter, the receive replay window and its
// creation time; Keypairs keeps a peer's three slots — `current` (used to send), `previous` (still
// accepted for in-flight packets after a rotation) and `next` (a responder's new session, which
// becomes current once the initiator's first packet arrives with it: key confirmation).
//
// Nothing here throws; `install` and `confirm` return the keypairs that fell out of use, so the
// caller can drop their indexes.
import { ReplayFilter } from './replay.js';
import type { SessionKeys } from './handshake.js';

export class Keypair {
  readonly sendKey: Buffer;
  readonly recvKey: Buffer;
  readonly isInitiator: boolean;
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly createdAt: number;
  /** The counter (nonce) of the next packet sent with this keypair. */
  sendCounter = 0n;
  readonly replay = new ReplayFilter();

  constructor(keys: SessionKeys, createdAt: number) {
    this.sendKey = keys.sendKey;
    this.recvKey = keys.recvKey;
    this.isInitiator = keys.isInitiator;
    this.localIndex = keys.localIndex;
    this.remoteIndex = keys.remoteIndex;
    this.createdAt = createdAt;
  }
}

export class Keypairs {
  current: Keypair | null = null;
  previous: Keypair | null = null;
  next: Keypair | null = null;

  /** Puts a freshly derived keypair in its slot; returns the keypairs no longer kept. */
  install(kp: Keypair): Keypair[] {
    const dropped: Keypair[] = [];
    const keep = (k: Keypair | null): void => void (k && dropped.push(k));
    if (kp.isInitiator) {
      if (this.next) {
        // an unconfirmed responder session loses to ours; it stays as previous for in-flight packets
        keep(this.previous);
        keep(this.current);
        this.previous = this.next;
        this.next = null;
      } else {
        keep(this.previous);
        this.previous = this.current;
      }
      this.current = kp;
    } else {
      keep(this.next);
      keep(this.previous);
      this.previous = null;
      this.next = kp;
    }
    return dropped;
  }

  /**
   * A packet arrived under `kp`. When it is the `next` keypair, it becomes current (the previous
   * one is dropped and current becomes previous); returns the dropped keypairs, or null when no
   * rotation happened.
   */
  confirm(kp: Keypair): Keypair[] | null {
    if (this.next !== kp) return null;
    const dropped = this.previous ? [this.previous] : [];
    this.previous = this.current;
    this.current = kp;
    this.next = null;
    return dropped;
  }

  all(): Keypair[] {
    return [this.current, this.previous, this.next].filter((k): k is Keypair => k !== null);
  }

  clear(): Keypair[] {
    const all = this.all();
    this.current = this.previous = this.next = null;
    return all;
  }
}
