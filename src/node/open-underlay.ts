// Opens the UDP socket a node sends and receives its encapsulated packets on: the native
// recvmmsg/sendmmsg addon (default; with per-flow source ports when the backend asks for them) or
// node:dgram. Throws DeviceError when the socket cannot be bound (address in use, no such address).
import type { Ipv4 } from '../addr/ipv4.js';
import type { Backend } from '../dataplane/backends.js';
import { openNativeUdpUnderlay } from '../underlay/native.js';
import { openUdpUnderlay } from '../underlay/udp.js';
import type { Underlay } from '../underlay/underlay.js';

export type UnderlayKind = 'native' | 'dgram';

export async function openNodeUnderlay(
  kind: UnderlayKind | undefined,
  addr: Ipv4,
  port: number,
  backend: Backend,
): Promise<Underlay> {
  if (kind === 'dgram') return openUdpUnderlay({ addr, port });
  return openNativeUdpUnderlay({ addr, port, rawSend: backend.sourcePort === 'flow' });
}
