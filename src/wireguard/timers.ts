// The per-peer timer state machine of WireGuard (whitepaper §6; wireguard-go device/timers.go,
// itself from the kernel's timers.c), on an injected Clock so tests run on virtual time:
//
//   retransmitHandshake  REKEY_TIMEOUT + jitter after an initiation is sent: send it again, up to
//                        MAX_TIMER_HANDSHAKES times (then give up and drop the staged packets)
//   sendKeepalive        KEEPALIVE_TIMEOUT after data arrived and nothing was sent back: keepalive
//   newHandshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data was sent and nothing
//                        authenticated came back: start a new handshake
//   zeroKeyMaterial      3 × REJECT_AFTER_TIME after a session was derived: forget all keys
//   persistentKeepalive  every N seconds of quiet, when configured: keepalive
//
// The `on*` methods are the events of timers.go; the actions are the TimerActions the peer gives.
// Nothing throws; every timer is cancelled by stop().
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { MAX_TIMER_HANDSHAKES, REKEY_TIMEOUT_JITTER_MAX_MS, type WgTimings } from './constants.js';

export interface TimerActions {
  retransmitHandshake(): void;
  sendKeepalive(): void;
  newHandshake(): void;
  zeroKeyMaterial(): void;
  giveUpHandshake(): void;
}

/** One restartable timer: mod() (re)arms it, del() disarms it. */
class PeerTimer {
  private handle: TimerHandle | null = null;
  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}
  get pending(): boolean {
    return this.handle !== null;
  }
  mod(ms: number): void {
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.handle = this.clock.setTimeout(() => {
      this.handle = null;
      this.fire();
    }, ms);
  }
  del(): void {
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.handle = null;
  }
}

export class PeerTimers {
  handshakeAttempts = 0;
  sentLastMinuteHandshake = false;
  needAnotherKeepalive = false;
  /** Seconds between persistent keepalives; 0 turns them off. */
  persistentKeepaliveS = 0;
  private readonly retransmit: PeerTimer;
  private readonly keepalive: PeerTimer;
  private readonly newHandshake: PeerTimer;
  private readonly zeroKeys: PeerTimer;
  private readonly persistent: PeerTimer;
  private stopped = false;

  constructor(
    clock: Clock,
    private readonly rng: Rng,
    private readonly t: WgTimings,
    actions: TimerActions,
  ) {
    this.retransmit = new PeerTimer(clock, () => {
      if (this.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
        this.keepalive.del();
        actions.giveUpHandshake();
        if (!this.zeroKeys.pending) this.zeroKeys.mod(this.t.rejectAfterTimeMs * 3);
      } else {
        this.handshakeAttempts++;
        actions.retransmitHandshake();
      }
    });
    this.keepalive = new PeerTimer(clock, () => {
      actions.sendKeepalive();
      if (this.needAnotherKeepalive) {
        this.needAnotherKeepalive = false;
        this.keepalive.mod(this.t.keepaliveTimeoutMs);
      }
    });
    this.newHandshake = new PeerTimer(clock, () => actions.newHandshake());
    this.zeroKeys = new PeerTimer(clock, () => actions.zeroKeyMaterial());
    this.persistent = new PeerTimer(clock, () => {
      if (this.persistentKeepaliveS > 0) actions.sendKeepalive();
    });
  }

  private jitter(): number {
    return this.rng.nextU32() % REKEY_TIMEOUT_JITTER_MAX_MS;
  }

  /** After an authenticated data packet is sent. */
  onDataSent(): void {
    if (!this.stopped && !this.newHandshake.pending)
      this.newHandshake.mod(this.t.keepaliveTimeoutMs + this.t.rekeyTimeoutMs + this.jitter());
  }

  /** After an authenticated data packet is received. */
  onDataReceived(): void {
    if (this.stopped) return;
    if (!this.keepalive.pending) this.keepalive.mod(this.t.keepaliveTimeoutMs);
    else this.needAnotherKeepalive = true;
  }

  /** After any authenticated packet (keepalive, data, handshake) is sent. */
  onAnyAuthenticatedSent(): void {
    this.keepalive.del();
  }

  /** After any authenticated packet is received. */
  onAnyAuthenticatedReceived(): void {
    this.newHandshake.del();
  }

  /** After an initiation is sent. */
  onHandshakeInitiated(): void {
    if (!this.stopped) this.retransmit.mod(this.t.rekeyTimeoutMs + this.jitter());
  }

  /** After a response is consumed, or the first data packet confirms a responder's session. */
  onHandshakeComplete(): void {
    this.retransmit.del();
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** After a session's keys are derived. */
  onSessionDerived(): void {
    if (!this.stopped) this.zeroKeys.mod(this.t.rejectAfterTimeMs * 3);
  }

  /** Before any authenticated packet is sent, or after one is received. */
  onAnyAuthenticatedTraversal(): void {
    if (!this.stopped && this.persistentKeepaliveS > 0) this.persistent.mod(this.persistentKeepaliveS * 1000);
  }

  /** Handshake retries are pending (an initiation is waiting for its response). */
  get retransmitPending(): boolean {
    return this.retransmit.pending;
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.retransmit, this.keepalive, this.newHandshake, this.zeroKeys, this.persistent]) t.del();
  }
}
