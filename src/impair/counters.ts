// What the impairment stage counts per peer and in total, and the configuration it reports
// (status output, the control socket, Prometheus). Plain data; nothing throws.
import type { ImpairmentSpec } from './spec.js';

export interface ImpairCounters {
  /** Datagrams (copies) an impaired link handed to the inner underlay, which accepted them. */
  sent: number;
  /** Copies held for delay, jitter or rate. */
  delayed: number;
  droppedLoss: number;
  droppedQueue: number;
  droppedPartition: number;
  /** The inner underlay refused a copy (its send returned false). */
  droppedInner: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Copies that had to wait for the token bucket. */
  rateLimited: number;
}

export function zeroCounters(): ImpairCounters {
  return { sent: 0, delayed: 0, droppedLoss: 0, droppedQueue: 0, droppedPartition: 0, droppedInner: 0, duplicated: 0, reordered: 0, corrupted: 0, rateLimited: 0 };
}

export interface ImpairConfig {
  default: ImpairmentSpec | undefined;
  peers: Array<{ addr: number; spec: ImpairmentSpec }>;
  /** partition() with no address is in force. */
  partitionAll: boolean;
  /** Peers cut by partition(addr). */
  partitioned: number[];
}
