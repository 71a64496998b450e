// The states of etcd membership (status().state) and the state a failed acquisition leads to,
// chosen by the error's class (util/errors.ts), never by its message. Pure; never throws.
import { ConfigError, NetworkConfigMissingError, SubnetExhaustedError, SubnetTakenError } from '../util/errors.js';

/** What `status().state` says, in the order a node usually passes through them. */
export type EtcdMembershipState =
  | 'new'
  | 'starting'
  | 'running'
  /** No <prefix>/config yet (NetworkConfigMissingError): retrying until `network init` writes it. */
  | 'waiting-for-config'
  /** The config does not parse (ConfigError): retrying until it is fixed. */
  | 'config-invalid'
  /** No free subnet (SubnetExhaustedError). */
  | 'out-of-subnets'
  /** Our lost subnet was leased by another node (SubnetTakenError); a restart picks a new one. */
  | 'subnet-taken'
  /** etcd is unreachable or a call failed; the last view is kept. */
  | 'etcd-unavailable'
  /** The watch was cancelled by etcd (e.g. compaction): re-listing. */
  | 'resyncing'
  /** Our lease was deleted, expired or taken over and the node ends (flannel's behaviour). */
  | 'lease-lost'
  | 'stopped';

/** The state a failed acquisition puts the membership in, by the error's class. */
export function stateForError(err: unknown): EtcdMembershipState {
  if (err instanceof NetworkConfigMissingError) return 'waiting-for-config';
  if (err instanceof ConfigError) return 'config-invalid';
  if (err instanceof SubnetExhaustedError) return 'out-of-subnets';
  if (err instanceof SubnetTakenError) return 'subnet-taken';
  return 'etcd-unavailable';
}
