// The address a reverse-lookup name stands for, as CoreDNS's dnsutil.ExtractAddressFromReverse reads it:
// `d.c.b.a.in-addr.arpa` → a.b.c.d; `<32 nibbles>.ip6.arpa` (RFC 3596, least significant nibble first)
// → the IPv6 address in its canonical text (lowercase, the longest run of zero groups as ::), so it
// compares equal to the API's ClusterIPs and endpoint addresses (canonicalIp). Pure; never throws.
import { isIP } from 'node:net';

/** An address in canonical text (IPv6 as RFC 5952 writes it); undefined when it is not an address. */
export function canonicalIp(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** The address of an in-addr.arpa or ip6.arpa name (lowercase, no trailing dot), else undefined. */
export function addressFromReverse(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const octets = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse();
    const ip = octets.join('.');
    return octets.length === 4 && isIP(ip) === 4 ? ip : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.').reverse();
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(nibbles.slice(i, i + 4).join(''));
    return canonicalIp(groups.join(':'));
  }
  return undefined;
}

/** The ip6.arpa name of an IPv6 address (for tests and tools); undefined when it is not one. */
export function ip6ArpaName(ip: string): string | undefined {
  if (isIP(ip) !== 6) return undefined;
  const [head, tail = ''] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  if (groups.length !== 8 || groups.some((g) => g.includes('.'))) return undefined;
  return `${groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .split('')
    .reverse()
    .join('.')}.ip6.arpa`;
}
