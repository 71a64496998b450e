// Opens the UDP socket a node sends and receives its encapsulated packets on: the native
// recvmmsg/sendmmsg addon (default; with a pool of per-flow source-port sockets when the backend
// asks for flow ports, UDP GSO on send and UDP GRO on receive unless switched off) or node:dgram.
// Logs once what the kernel offers (GSO, GRO or not) and what is in use. Throws DeviceError when the socket cannot be bound
// (address in use, no such address), ConfigError for a bad pool size.
import type { Ipv4 } from '../addr/ipv4.js';
import type { Backend } from '../dataplane/backends.js';
import { DEFAULT_SOURCE_PORTS, openNativeUdpUnderlay } from '../underlay/native.js';
import { openUdpUnderlay } from '../underlay/udp.js';
import type { Underlay } from '../underlay/underlay.js';
import type { Logger } from '../util/logger.js';

export type UnderlayKind = 'native' | 'dgram';

export interface UnderlayTuning {
  /** Source-port pool size for flow-port backends (default DEFAULT_SOURCE_PORTS). */
  sourcePorts?: number;
  /** UDP GSO on send (default true; used only where the kernel has it). */
  gso?: boolean;
  /** UDP GRO on receive (default true; used only where the kernel has it). */
  gro?: boolean;
  /** The busy-poll window after traffic in µs (node/busy-poll.ts; default 0 = off). */
  busyPollUs?: number;
}

export async function openNodeUnderlay(
  kind: UnderlayKind | undefined,
  addr: Ipv4,
  port: number,
  backend: Backend,
  tuning: UnderlayTuning = {},
  log?: Logger,
): Promise<Underlay> {
  if (kind === 'dgram') return openUdpUnderlay({ addr, port });
  const sourcePorts = backend.sourcePort === 'flow' ? (tuning.sourcePorts ?? DEFAULT_SOURCE_PORTS) : 0;
  const u = await openNativeUdpUnderlay({ addr, port, sourcePorts, gso: tuning.gso ?? true, gro: tuning.gro ?? true });
  const st = u.stats();
  log?.info(
    { sourcePorts: st.sourcePorts, udpGso: st.gso, udpGsoSupported: st.gsoSupported },
    st.gsoSupported ? (st.gso ? 'UDP GSO in use' : 'UDP GSO switched off') : 'UDP GSO not supported by this kernel',
  );
  log?.info(
    { udpGro: st.gro, udpGroSupported: st.groSupported },
    st.groSupported ? (st.gro ? 'UDP GRO in use' : 'UDP GRO switched off') : 'UDP GRO not supported by this kernel',
  );
  return u;
}
