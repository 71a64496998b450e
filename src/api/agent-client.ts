// What a test can ask one running node agent through its control socket (the protocol of
// docs/ARCHITECTURE.md, the requests `flannelette status|routes|stats|impair|trace|capture` send):
// typed replies, impairments given as an object, captures as handles (capture.ts). Shared by the
// library's `Node` (an agent of its own) and the nodes of a `Lab`. Every method rejects with
// RpcError (the node refused: its `code` is the node's error name, e.g. ConfigError for a bad
// impairment) or DeviceError when the socket does not answer. Holds no connection between calls.
import type { ImpairmentsReply, RouteReply, StatsReply, StatusReply, TraceReply } from '../node/rpc-handlers.js';
import { rpcCall } from '../util/rpc.js';
import { Capture, type CaptureOptions, type CapturePoint } from './capture.js';

/**
 * Impairments of a link, as the CLI's flags spell them (`delay: '20ms'`, `loss: '1%'`,
 * `rate: '10mbit'`). Numbers are read as milliseconds (delay, jitter), percent (loss, duplicate,
 * reorder, corrupt), bits per second (rate), bytes (burst) and packets (queue).
 */
export interface ImpairSpec {
  delay?: string | number;
  jitter?: string | number;
  distribution?: 'uniform' | 'normal' | 'pareto' | 'paretonormal';
  jitterReorders?: boolean;
  loss?: string | number;
  /** Gilbert-Elliott bursty loss, e.g. `'p=1% r=30%'`. */
  lossBurst?: string;
  duplicate?: string | number;
  reorder?: string | number;
  corrupt?: string | number;
  rate?: string | number;
  burst?: string | number;
  queue?: string | number;
}

const UNITS: Record<string, string> = {
  delay: 'ms',
  jitter: 'ms',
  loss: '%',
  duplicate: '%',
  reorder: '%',
  corrupt: '%',
  rate: 'bit',
  burst: 'b',
  queue: '',
};

/** The impairment fields the node's `impair` request takes (strings in the CLI's notation). */
export function impairFieldsOf(spec: ImpairSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec) as [string, string | number | boolean | undefined][]) {
    if (value === undefined) continue;
    out[key] = typeof value === 'number' ? `${value}${UNITS[key] ?? ''}` : String(value);
  }
  return out;
}

/** A trace query: what the node would do with such a packet (nothing is sent). */
export interface TraceQuery {
  from: string;
  to: string;
  proto?: 'icmp' | 'tcp' | 'udp';
  port?: number;
  sport?: number;
  size?: number;
  ttl?: number;
  df?: boolean;
}

export type { ImpairmentsReply, RouteReply, StatsReply, StatusReply, TraceReply };

/** Requests to one node agent over its control socket. */
export class AgentClient {
  /**
   * @param name the node's name
   * @param socketPath its control socket (`<state-dir>/<name>.sock`)
   */
  constructor(
    readonly name: string,
    readonly socketPath: string,
  ) {}

  /** Lease, backend, TUN, MTU, membership and per-peer traffic (`flannelette status --json`). */
  async status(): Promise<StatusReply> {
    return (await rpcCall(this.socketPath, 'status')) as StatusReply;
  }

  /** The route table the node forwards with (`flannelette routes --json`). */
  async routes(): Promise<RouteReply[]> {
    return (await rpcCall(this.socketPath, 'routes')) as RouteReply[];
  }

  /** Every counter and drop reason, per peer, capture and impairment counters (`flannelette stats --json`). */
  async stats(): Promise<StatsReply> {
    return (await rpcCall(this.socketPath, 'stats')) as StatsReply;
  }

  /** The impairments in force and their counters. */
  async impairments(): Promise<ImpairmentsReply> {
    return (await rpcCall(this.socketPath, 'impairments')) as ImpairmentsReply;
  }

  /** Impairs what this node sends to `peer` (a node name or public IP; undefined: every peer). */
  async impair(peer: string | undefined, spec: ImpairSpec): Promise<ImpairmentsReply> {
    return (await rpcCall(this.socketPath, 'impair', { to: peer, fields: impairFieldsOf(spec) })) as ImpairmentsReply;
  }

  /** Drops everything this node sends to `peer` (undefined: every peer) until healed. */
  async partition(peer?: string): Promise<ImpairmentsReply> {
    return (await rpcCall(this.socketPath, 'impair', { to: peer, partition: true })) as ImpairmentsReply;
  }

  /** Ends a partition towards `peer` (undefined: every peer). */
  async heal(peer?: string): Promise<ImpairmentsReply> {
    return (await rpcCall(this.socketPath, 'impair', { to: peer, heal: true })) as ImpairmentsReply;
  }

  /** Removes the impairments towards `peer` (undefined: all of them). */
  async clearImpairments(peer?: string): Promise<ImpairmentsReply> {
    return (await rpcCall(this.socketPath, 'impair', { to: peer, clear: true })) as ImpairmentsReply;
  }

  /** What the data path would do with a packet (`flannelette trace`), without sending it. */
  async trace(q: TraceQuery): Promise<TraceReply> {
    return (await rpcCall(this.socketPath, 'trace', { ...q })) as TraceReply;
  }

  /** Starts a live capture at `point`; see Capture. */
  capture(point: CapturePoint, opts: CaptureOptions = {}): Promise<Capture> {
    return Capture.open(this.socketPath, point, opts);
  }
}
