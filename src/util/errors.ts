// Error types for configuration and API failures (never for per-packet failures, which are counted).
// Every error has a stable `name` (the class name) and `code`; tests assert on those, not on messages.
// Messages are one line and name what was wrong.

/** The base of every flannelette error: `name` is the class name, `code` a stable string (ECONFIG…). */
export class FlanError extends Error {
  /** A stable code for programs (ECONFIG, EPERM, EDEVICE…); the messages may change. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad user input: a flag, a config file, a topology, an address. */
export class ConfigError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECONFIG', message, options);
  }
}

/** An address or CIDR that does not parse. */
export class AddressError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EADDR', message, options);
  }
}

/** A bounded structure (route table, queue, pool) is full. */
export class CapacityError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECAPACITY', message, options);
  }
}

/** Missing privileges: not root and no CAP_NET_ADMIN. */
export class PermissionError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EPERM', message, options);
  }
}

/** An OS device or socket failed: no /dev/net/tun, port in use, an ip(8) command failed. */
export class DeviceError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EDEVICE', message, options);
  }
}

/** flannel's network config key is not in etcd (yet): a node waits for `flannelette network init`. */
export class NetworkConfigMissingError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENOCONFIG', message, options);
  }
}

/** Every subnet of the network is leased to another node. */
export class SubnetExhaustedError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENOSUBNET', message, options);
  }
}

/** The subnet this node must keep (its data path is built around it) was leased by another node. */
export class SubnetTakenError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ESUBNETTAKEN', message, options);
  }
}

/** An operation gave up because its owner was stopped first (e.g. start() after stop()). */
export class StoppedError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ESTOPPED', message, options);
  }
}

/** No interface matches --iface/--iface-regex/--iface-can-reach/--public-ip (flanneld exits 1 too). */
export class InterfaceSelectionError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENOIFACE', message, options);
  }
}

/** Our subnet lease is gone from etcd (deleted, expired) or another node's PublicIP is in it. */
export class LeaseLostError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ELEASELOST', message, options);
  }
}

/**
 * A Kubernetes API error: the HTTP code, kube's reason (NotFound, AlreadyExists, Conflict, Invalid,
 * BadRequest, Gone, Expired, …) and the details of a meta/v1 Status (kind, name, causes).
 */
export class KubeApiError extends FlanError {
  constructor(
    readonly httpStatus: number,
    readonly reason: string,
    message: string,
    readonly details?: {
      name?: string;
      group?: string;
      kind?: string;
      causes?: { reason?: string; message?: string; field?: string }[];
    },
  ) {
    super('EKUBEAPI', message);
  }
}

/**
 * A CNI operation failed (spec 1.0.0 section "Error"): `cniCode` is the spec's numeric code (1
 * incompatible version, 3 unknown container, 4 bad environment, 5 I/O, 6 decoding, 7 invalid config,
 * 11 try again later, 100+ plugin-specific, 999 internal), `details` the longer text.
 */
export class CniError extends FlanError {
  constructor(
    readonly cniCode: number,
    message: string,
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    super('ECNI', message, options);
  }
}

/** Turns any thrown value into a one-line message for the CLI. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

/** A wait gave up: the condition did not hold within its deadline (the message names it). */
export class TimeoutError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ETIMEOUT', message, options);
  }
}

/** A regular expression that does not compile (Go's regexp syntax, or a construct JavaScript cannot say). */
export class RegexpSyntaxError extends FlanError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EREGEXP', message, options);
  }
}
