// The facts about each encapsulation backend, in one table that every layer imports (capture,
// control, dataplane, node, lab, cli): its name, default port, MTU overhead, TUN device name,
// source-port policy and the shape of its lease data. Nothing else in src/ spells these out.
//
// A new backend is a row here (plus its encapsulate/decapsulate in dataplane/backends.ts): the
// row type already describes a backend without encapsulation (host-gw: routed as it is, overhead 0)
// and one whose payload is encrypted (wireguard: port 51820, overhead 80, TUN flannel-wg, lease data
// {PublicKey}). Pure data and total functions: nothing here throws or does I/O.
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { IPV4_MIN_HEADER } from '../wire/ipv4.js';
import { UDP_HEADER_LEN } from '../wire/udp.js';
import { VXLAN_HEADER_LEN, VXLAN_PORT_LINUX } from '../wire/vxlan.js';

/** Outer IPv4 (20) + UDP (8) headers the kernel adds on the underlay. */
export const OUTER_IPV4_UDP_LEN = IPV4_MIN_HEADER + UDP_HEADER_LEN;

/** One field of a lease's `BackendData` object, as flannel writes it into etcd. */
export interface LeaseDataField {
  /** The JSON key (`VNI`, `VtepMAC`, `PublicKey`). */
  readonly key: string;
  /** What the value is: a 24-bit VNI number, a MAC "aa:bb:cc:dd:ee:ff", a base64 32-byte key. */
  readonly kind: 'vni' | 'mac' | 'public-key';
  /** A lease without it is refused. */
  readonly required: boolean;
}

interface CommonFacts {
  /** flannel's name: the network config's `Backend.Type` and the lease's `BackendType`. */
  readonly name: string;
  /**
   * flannel's MTU reduction, every outer byte included: the default TUN / pod MTU is the underlay MTU
   * minus this, and the largest inner packet that fits the underlay (vxlan 50, udp 28).
   */
  readonly overhead: number;
  /** The VXLAN network identifier nodes use unless configured; null for backends without one. */
  readonly defaultVni: number | null;
  /** The fields of the lease's `BackendData`; empty when the lease carries none (udp). */
  readonly leaseData: readonly LeaseDataField[];
}

/** A backend that carries inner packets inside UDP datagrams between nodes. */
export interface UdpBackendFacts extends CommonFacts {
  readonly encapsulation: 'udp';
  /** The UDP port every node listens on unless configured. */
  readonly defaultPort: number;
  /** Bytes written into the UDP payload in front of the inner IP packet (vxlan: VXLAN + Ethernet, 22). */
  readonly headerLen: number;
  /** The payload is encrypted: readers (the capture filter) cannot see the inner packet. */
  readonly encrypted: boolean;
  /** The TUN device flannel names for it. */
  readonly tunName: string;
  /**
   * 'flow': each datagram's UDP source port is derived from the inner flow (the kernel VXLAN
   * device's udp_flow_src_port, 32768–60999; wire/flow-hash.ts); 'bound': datagrams leave from
   * the socket's bound port (flannel's udp backend has one socket).
   */
  readonly sourcePort: 'flow' | 'bound';
}

/** A backend that routes inner packets on the underlay as they are (host-gw): no port, no TUN. */
export interface RoutedBackendFacts extends CommonFacts {
  readonly encapsulation: 'none';
}

export type BackendFacts = UdpBackendFacts | RoutedBackendFacts;

const vxlan = {
  name: 'vxlan',
  encapsulation: 'udp',
  defaultPort: VXLAN_PORT_LINUX,
  headerLen: VXLAN_HEADER_LEN + ETH_HEADER_LEN,
  encrypted: false,
  overhead: OUTER_IPV4_UDP_LEN + VXLAN_HEADER_LEN + ETH_HEADER_LEN,
  tunName: 'flannel.1',
  sourcePort: 'flow',
  defaultVni: 1,
  leaseData: [
    { key: 'VNI', kind: 'vni', required: false },
    { key: 'VtepMAC', kind: 'mac', required: true },
  ],
} as const satisfies UdpBackendFacts;

const udp = {
  name: 'udp',
  encapsulation: 'udp',
  defaultPort: 8285,
  headerLen: 0,
  encrypted: false,
  overhead: OUTER_IPV4_UDP_LEN,
  tunName: 'flannel0',
  sourcePort: 'bound',
  defaultVni: null,
  leaseData: [],
} as const satisfies UdpBackendFacts;

// WireGuard (flannel's pkg/backend/wireguard): overhead 80 as flannel computes the MTU (room for an
// IPv6 underlay header: 40 + UDP 8 + WireGuard's 16-byte header and 16-byte tag); the UDP payload
// is a WireGuard message, so nothing of the inner packet is readable on the wire.
const wireguard = {
  name: 'wireguard',
  encapsulation: 'udp',
  defaultPort: 51820,
  headerLen: 16,
  encrypted: true,
  overhead: 80,
  tunName: 'flannel-wg',
  sourcePort: 'bound',
  defaultVni: null,
  leaseData: [{ key: 'PublicKey', kind: 'public-key', required: true }],
} as const satisfies UdpBackendFacts;

// host-gw (flannel's pkg/backend/hostgw): no encapsulation, no TUN device, no port: every node
// routes the other nodes' subnets in the kernel via their public IPs, so the TUN / pod MTU is the
// underlay's own and the lease carries no BackendData. It needs every peer on the same L2 segment.
const hostGw = {
  name: 'host-gw',
  encapsulation: 'none',
  overhead: 0,
  defaultVni: null,
  leaseData: [],
} as const satisfies RoutedBackendFacts;

/** The encapsulating backends flannelette implements, by flannel's name. */
export const BACKEND_TABLE = { vxlan, udp, wireguard } as const;

/** The backends that route without encapsulation (the kernel forwards; no data path process). */
export const ROUTED_BACKEND_TABLE = { 'host-gw': hostGw } as const;

export type RoutedBackendName = keyof typeof ROUTED_BACKEND_TABLE;

/** Every backend flannelette implements, encapsulating or routed (a network config's Backend.Type). */
export type AnyBackendName = BackendName | RoutedBackendName;

export type BackendName = keyof typeof BACKEND_TABLE;

/** The implemented backends' names, in table order (for flag choices and messages). */
export const BACKEND_NAMES: readonly BackendName[] = Object.keys(BACKEND_TABLE) as BackendName[];

export function isBackendName(name: string): name is BackendName {
  return Object.hasOwn(BACKEND_TABLE, name);
}

/** Every implemented backend's name, encapsulating first (for flag choices and messages). */
export const ANY_BACKEND_NAMES: readonly AnyBackendName[] = [
  ...BACKEND_NAMES,
  ...(Object.keys(ROUTED_BACKEND_TABLE) as RoutedBackendName[]),
];

export function isAnyBackendName(name: string): name is AnyBackendName {
  return isBackendName(name) || isRoutedBackendName(name);
}

export function isRoutedBackendName(name: string): name is RoutedBackendName {
  return Object.hasOwn(ROUTED_BACKEND_TABLE, name);
}

/** The row of any implemented backend. */
export function anyBackendFacts(name: AnyBackendName): BackendFacts {
  return isRoutedBackendName(name) ? ROUTED_BACKEND_TABLE[name] : BACKEND_TABLE[name];
}

/** "vxlan, udp, wireguard or host-gw": every implemented backend, for an error message. */
export function anyBackendNamesText(): string {
  const names = ANY_BACKEND_NAMES;
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** The row of an implemented backend. */
export function backendFacts(name: BackendName): UdpBackendFacts {
  return BACKEND_TABLE[name];
}

/** "vxlan or udp": the names for an error message. */
export function backendNamesText(): string {
  return BACKEND_NAMES.length <= 1
    ? BACKEND_NAMES.join('')
    : `${BACKEND_NAMES.slice(0, -1).join(', ')} or ${BACKEND_NAMES[BACKEND_NAMES.length - 1]}`;
}

/** flannel's default TUN MTU: the underlay MTU minus everything the backend adds. */
export function defaultMtu(facts: BackendFacts, underlayMtu: number): number {
  return underlayMtu - facts.overhead;
}

/** Where the inner IP packet starts in a UDP payload of this backend; null when it has no readable one. */
export function innerPacketOffset(facts: BackendFacts): number | null {
  if (facts.encapsulation === 'none' || facts.encrypted) return null;
  return facts.headerLen;
}

/** The lease data field of a kind, if the backend's leases carry one. */
export function leaseField(facts: BackendFacts, kind: LeaseDataField['kind']): LeaseDataField | undefined {
  return facts.leaseData.find((f) => f.kind === kind);
}

/** A base64 encoding of 32 bytes: a WireGuard key as `wg genkey` / `wg pubkey` / `wg genpsk` print it. */
export function isWgKeyText(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text);
}

/** The backend authenticates peers by a Curve25519 public key (wireguard): peers need one. */
export function needsPublicKey(facts: BackendFacts): boolean {
  return leaseField(facts, 'public-key')?.required === true;
}

/** The backend identifies peers' VTEPs by MAC (vxlan): peers and this node need one. */
export function needsVtepMac(facts: BackendFacts): boolean {
  return leaseField(facts, 'mac')?.required === true;
}

/** "8472 for vxlan, 8285 for udp": one fact of every backend, for help texts. */
export function perBackendText(fact: (facts: UdpBackendFacts) => string | number): string {
  return BACKEND_NAMES.map((name) => `${fact(BACKEND_TABLE[name])} for ${name}`).join(', ');
}
