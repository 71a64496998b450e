// Why a WireGuard device refused a datagram or a packet. The data path counts these next to its
// own drop reasons (dataplane/counters.ts); a device reports them by index into this list.
export const WG_DROP_REASONS = [
  'wg-malformed', // not a WireGuard message: unknown type, nonzero reserved bytes, wrong length
  'wg-bad-mac1', // a handshake message whose mac1 is not for our public key
  'wg-under-load', // a handshake message without a valid mac2 while under load: answered with a cookie reply
  'wg-handshake-failed', // an initiation or response that does not decrypt or authenticate
  'wg-unknown-key', // an initiation from a static key that is not one of our peers
  'wg-handshake-replayed', // an initiation whose timestamp is not newer than the last accepted one
  'wg-handshake-flood', // a second initiation from a peer within 20 ms
  'wg-unknown-index', // a response, cookie reply or data packet for a session index we do not have
  'wg-bad-cookie', // a cookie reply that does not open
  'wg-decrypt-failed', // a data packet whose authentication tag does not verify (forged, corrupted, wrong key)
  'wg-replayed', // a data packet whose counter was seen already or is behind the replay window
  'wg-stale-key', // a data packet for a session older than REJECT_AFTER_TIME or past REJECT_AFTER_MESSAGES
  'wg-no-session', // an outgoing packet dropped: staging queue full, or the handshake gave up
  'wg-no-room', // an outgoing packet without room for the tag and padding in its buffer
] as const;

export type WgDropReason = (typeof WG_DROP_REASONS)[number];

export const WgDrop: { readonly [K in WgDropReason as K]: number } = Object.fromEntries(
  WG_DROP_REASONS.map((r, i) => [r, i]),
) as never;
