// What decision.ts (IPv4) and decision6.ts (IPv6) write alike once their own checks are done: the
// send fields of a forward decision (the outer destination is the peer's public address and port;
// the outer source port follows the inner flow or is the bound port) and the ICMP error due. Only
// reads the packet; never throws, never allocates. decision.ts re-exports NO_DROP.
import { flowSourcePort } from '../wire/flow-hash.js';
import type { Peer } from './peer.js';

/** `drop` of a decision that lets the packet through. */
export const NO_DROP = -1;

/** What a send decision reads from the forward policy. */
export interface SendPolicy {
  readonly flowPorts: boolean;
  readonly localPort: number;
  readonly sourcePortFor?: (flowPort: number) => number;
}

/** The fields of a forward decision that decideSend and icmpDue write. */
export interface SendOut {
  drop: number;
  icmpType: number;
  icmpCode: number;
  icmpRest: number;
  dstAddr: number;
  dstPort: number;
  srcPort: number;
  sendSrcPort: number;
}

/** The packet buf[off, off+len) goes to `peer`: no drop, its outer destination and source port. */
export function decideSend(policy: SendPolicy, peer: Peer, buf: Buffer, off: number, len: number, d: SendOut): void {
  d.drop = NO_DROP;
  d.dstAddr = peer.publicIp;
  d.dstPort = peer.port;
  if (policy.flowPorts) {
    d.sendSrcPort = flowSourcePort(buf, off, len);
    d.srcPort = policy.sourcePortFor ? policy.sourcePortFor(d.sendSrcPort) : d.sendSrcPort;
  } else {
    d.srcPort = policy.localPort;
    d.sendSrcPort = 0;
  }
}

/** An ICMP(v6) error is due to the sender, unless `allowed` is false (an error about an error, …). */
export function icmpDue(d: SendOut, allowed: boolean, type: number, code: number, rest: number): void {
  if (!allowed) return;
  d.icmpType = type;
  d.icmpCode = code;
  d.icmpRest = rest;
}
