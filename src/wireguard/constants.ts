// WireGuard's protocol constants (whitepaper §5.4 and §6; wireguard-go device/constants.go) and the
// timer settings a device runs with. `WG_TIMINGS` are the protocol's; tests and the interop test
// shorten them by passing another WgTimings (every timer in timers.ts reads from this object).

export const NOISE_CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const WG_IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

/** Messages after which a session asks for a new handshake. */
export const REKEY_AFTER_MESSAGES = 1n << 60n;
/** Messages after which a session's keys are no longer used at all. */
export const REJECT_AFTER_MESSAGES = (1n << 64n) - (1n << 13n) - 1n;
/** At most this many handshake retries (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT) before giving up. */
export const MAX_TIMER_HANDSHAKES = 90 / 5;
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
/** A responder consumes at most one initiation per peer per this interval (1 s / 50). */
export const HANDSHAKE_INITIATION_RATE_MS = 1000 / 50;
export const COOKIE_REFRESH_MS = 120_000;
/** Packets queued per peer while a handshake is in flight (wireguard-go MaxStagedPackets). */
export const MAX_STAGED_PACKETS = 128;
export const PADDING_MULTIPLE = 16;

export interface WgTimings {
  rekeyAfterTimeMs: number;
  rejectAfterTimeMs: number;
  rekeyAttemptTimeMs: number;
  rekeyTimeoutMs: number;
  keepaliveTimeoutMs: number;
  /** Messages after which a new handshake is started (2^60). */
  rekeyAfterMessages: bigint;
  /** Messages after which a keypair is refused (2^64 − 2^13 − 1). */
  rejectAfterMessages: bigint;
}

export const WG_TIMINGS: Readonly<WgTimings> = Object.freeze({
  rekeyAfterTimeMs: 120_000,
  rejectAfterTimeMs: 180_000,
  rekeyAttemptTimeMs: 90_000,
  rekeyTimeoutMs: 5_000,
  keepaliveTimeoutMs: 10_000,
  rekeyAfterMessages: REKEY_AFTER_MESSAGES,
  rejectAfterMessages: REJECT_AFTER_MESSAGES,
});
