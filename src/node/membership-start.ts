// Starts a node's membership before the node knows which kind of agent it is: the lease names the
// backend (an etcd network config can say host-gw), so the CLI starts membership first, then hands
// the started membership to the overlay agent (agent.ts) or the routed one (routed-agent.ts).
// Events that arrive before the agent listens are kept and replayed, in order, to the first
// listener. start() rejects as Membership.start does; nothing else throws.
import type { LocalLease, Membership, MembershipEvent } from '../control/membership.js';

export interface StartedMembership {
  readonly membership: Membership;
  readonly lease: LocalLease;
  /** Sets the event listener; the first one gets every event that came before it, first. */
  listen(handler: (e: MembershipEvent) => void): void;
}

export async function startMembership(membership: Membership): Promise<StartedMembership> {
  const early: MembershipEvent[] = [];
  let onEvent: (e: MembershipEvent) => void = (e) => early.push(e);
  const lease = await membership.start((e) => onEvent(e));
  return {
    membership,
    lease,
    listen(handler) {
      onEvent = handler;
      for (const e of early.splice(0)) handler(e);
    },
  };
}
