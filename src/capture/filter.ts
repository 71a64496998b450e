// A small capture filter language, evaluated on the INNER IP packet:
//   host A        source or destination IPv4 address is A
//   net CIDR      source or destination IPv4 address lies in CIDR (host bits must be zero)
//   proto P       IP protocol is icmp, tcp, udp or a number 0..255 (for IPv6: the fixed header's
//                 next header; icmp matches ICMPv6 there)
//   port N        TCP or UDP source or destination port is N (first fragment only)
// joined with `and`, e.g. `host 10.244.1.2 and proto icmp`. Keywords are case-insensitive. An
// empty text is a filter that matches everything.
//
// parseCaptureFilter throws ConfigError with a one-line message naming the bad token.
// CaptureFilter.matches never throws on any bytes, allocates nothing and keeps no reference to the
// buffer; bytes that are not a sane IPv4/IPv6 header match only the empty filter.
import { Cidr, isIpv4, parseIpv4 } from '../addr/ipv4.js';
import { ConfigError } from '../util/errors.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  ipv4Dst,
  ipv4FragOffset,
  ipv4HeaderLen,
  ipv4Protocol,
  ipv4Src,
} from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, ipv6NextHeader } from '../wire/ipv6.js';

export interface CaptureFilter {
  /** The text the filter was parsed from (normalised whitespace). */
  readonly text: string;
  /** True for the empty filter, which matches every packet (also non-IP bytes). */
  readonly matchesAll: boolean;
  /** True when the IP packet at buf[off, off+len) passes every clause. */
  matches(buf: Uint8Array, off: number, len: number): boolean;
}

const Kind = { Host: 0, Net: 1, Proto: 2, Port: 3 } as const;
type KindCode = (typeof Kind)[keyof typeof Kind];

interface Clause {
  kind: KindCode;
  /** host: address; net: network; proto: protocol number; port: port. */
  value: number;
  /** net: mask. */
  mask: number;
}

const PROTO_NAMES: Record<string, number> = { icmp: IPPROTO_ICMP, tcp: IPPROTO_TCP, udp: IPPROTO_UDP };
const KEYWORDS = 'host, net, proto or port';

function bad(message: string): never {
  throw new ConfigError(`capture filter: ${message}`);
}

function parseClause(keyword: string, value: string | undefined): Clause {
  const kw = keyword.toLowerCase();
  if (kw !== 'host' && kw !== 'net' && kw !== 'proto' && kw !== 'port')
    bad(`unknown keyword "${keyword}" (expected ${KEYWORDS})`);
  if (value === undefined) bad(`"${keyword}" needs a value`);
  switch (kw) {
    case 'host':
      if (!isIpv4(value)) bad(`"host" needs an IPv4 address, got "${value}"`);
      return { kind: Kind.Host, value: parseIpv4(value), mask: 0 };
    case 'net': {
      let cidr: Cidr;
      try {
        cidr = Cidr.parse(value, { strict: true });
      } catch (err) {
        throw new ConfigError(`capture filter: "net" needs a CIDR such as 10.244.1.0/24, got "${value}"`, {
          cause: err,
        });
      }
      return { kind: Kind.Net, value: cidr.network, mask: cidr.mask };
    }
    case 'proto': {
      const named = PROTO_NAMES[value.toLowerCase()];
      if (named !== undefined) return { kind: Kind.Proto, value: named, mask: 0 };
      if (!/^\d{1,3}$/.test(value) || Number(value) > 255)
        bad(`"proto" needs icmp, tcp, udp or 0..255, got "${value}"`);
      return { kind: Kind.Proto, value: Number(value), mask: 0 };
    }
    default: {
      if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) bad(`"port" needs a number 0..65535, got "${value}"`);
      return { kind: Kind.Port, value: Number(value), mask: 0 };
    }
  }
}

/** Parses a filter expression (see the module comment). Throws ConfigError naming the bad token. */
export function parseCaptureFilter(text: string): CaptureFilter {
  const tokens = text
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0);
  const clauses: Clause[] = [];
  let i = 0;
  while (i < tokens.length) {
    if (clauses.length > 0) {
      const joiner = tokens[i];
      if (joiner.toLowerCase() !== 'and') bad(`expected "and" before "${joiner}"`);
      i++;
      if (i >= tokens.length) bad('expression ends with "and"');
    }
    clauses.push(parseClause(tokens[i], tokens[i + 1]));
    i += 2;
  }
  return new ClauseFilter(tokens.join(' '), clauses);
}

class ClauseFilter implements CaptureFilter {
  readonly matchesAll: boolean;
  constructor(
    readonly text: string,
    private readonly clauses: readonly Clause[],
  ) {
    this.matchesAll = clauses.length === 0;
  }

  matches(buf: Uint8Array, off: number, len: number): boolean {
    const clauses = this.clauses;
    if (clauses.length === 0) return true;
    if (off < 0 || len <= 0) return false;
    if (off + len > buf.length) len = buf.length - off;
    if (len <= 0) return false;

    let isV4: boolean;
    let src = 0;
    let dst = 0;
    let proto: number;
    let l4Off: number; // -1 when the transport header is not in this packet (a later fragment)
    const version = buf[off] >>> 4;
    if (version === 4) {
      const hl = ipv4HeaderLen(buf, off);
      if (len < IPV4_MIN_HEADER || hl < IPV4_MIN_HEADER || hl > len) return false;
      isV4 = true;
      src = ipv4Src(buf, off);
      dst = ipv4Dst(buf, off);
      proto = ipv4Protocol(buf, off);
      l4Off = ipv4FragOffset(buf, off) === 0 ? off + hl : -1;
    } else if (version === 6) {
      if (len < IPV6_HEADER_LEN) return false;
      isV4 = false;
      proto = ipv6NextHeader(buf, off);
      l4Off = off + IPV6_HEADER_LEN;
    } else {
      return false;
    }

    for (let i = 0; i < clauses.length; i++) {
      const c = clauses[i];
      switch (c.kind) {
        case Kind.Host:
          if (!isV4 || (src !== c.value && dst !== c.value)) return false;
          break;
        case Kind.Net:
          if (!isV4 || ((src & c.mask) >>> 0 !== c.value && (dst & c.mask) >>> 0 !== c.value)) return false;
          break;
        case Kind.Proto:
          if (proto !== c.value && !(!isV4 && c.value === IPPROTO_ICMP && proto === IPPROTO_ICMPV6)) return false;
          break;
        case Kind.Port: {
          if ((proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) || l4Off < 0 || l4Off + 4 > off + len) return false;
          const sport = (buf[l4Off] << 8) | buf[l4Off + 1];
          const dport = (buf[l4Off + 2] << 8) | buf[l4Off + 3];
          if (sport !== c.value && dport !== c.value) return false;
          break;
        }
      }
    }
    return true;
  }
}

/** The filter that matches every packet. */
export const MATCH_ALL: CaptureFilter = new ClauseFilter('', []);
