// One line per header of a captured packet, outermost first, the way `lab follow` and `lab ui` show
// it: Ethernet, IPv4, UDP, VXLAN (UDP 8472 or 4789), IP-in-UDP (8285), then the inner Ethernet/IPv4
// and ICMP/TCP/UDP. Also the innermost IPv4 packet's identity, to recognise one packet at every
// point it crosses (`key`). Pure; never throws: a truncated or unknown header ends the list with
// what could be read.

export interface InnerPacket {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  /** Same for one packet at every point (IP id, protocol and the transport header's fixed fields). */
  key: string;
}

export interface PacketSummary {
  headers: string[];
  inner?: InnerPacket;
}

export const VXLAN_PORTS = new Set([8472, 4789]);
export const UDP_BACKEND_PORT = 8285;

const ETH_IPV4 = 0x0800;
const mac = (b: Buffer, o: number): string =>
  [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ip = (b: Buffer, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const hex = (n: number, w = 4): string => `0x${n.toString(16).padStart(w, '0')}`;

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];
const ICMP_NAMES: Record<number, string> = {
  0: 'echo reply',
  3: 'destination unreachable',
  8: 'echo request',
  11: 'time exceeded',
};

/** linktype 1 = Ethernet, 101 = raw IP (pcap link types). */
export function summarize(data: Buffer, linktype: number): PacketSummary {
  const out: PacketSummary = { headers: [] };
  if (linktype === 1) ethernet(data, 0, out, 0);
  else ipv4(data, 0, out, 0);
  return out;
}

function ethernet(b: Buffer, o: number, out: PacketSummary, depth: number): void {
  if (b.length < o + 14) return void out.headers.push('Ethernet (truncated)');
  const type = b.readUInt16BE(o + 12);
  out.headers.push(`Ethernet ${mac(b, o + 6)} → ${mac(b, o)}${type === ETH_IPV4 ? '' : ` type ${hex(type)}`}`);
  if (type === ETH_IPV4) ipv4(b, o + 14, out, depth);
}

function ipv4(b: Buffer, o: number, out: PacketSummary, depth: number): void {
  if (b.length < o + 20 || b[o] >> 4 !== 4)
    return void out.headers.push(b.length > o ? `IP version ${b[o] >> 4} (not shown)` : 'IPv4 (truncated)');
  const ihl = (b[o] & 15) * 4;
  const total = b.readUInt16BE(o + 2);
  const id = b.readUInt16BE(o + 4);
  const df = (b[o + 6] & 0x40) !== 0;
  const ttl = b[o + 8];
  const proto = b[o + 9];
  const src = ip(b, o + 12);
  const dst = ip(b, o + 16);
  out.headers.push(
    `IPv4 ${src} → ${dst} ttl ${ttl} id ${hex(id)} len ${total}${df ? ' DF' : ''}` +
      (proto === 1 || proto === 6 || proto === 17 ? '' : ` proto ${proto}`),
  );
  const l4 = o + ihl;
  out.inner = { src, dst, protocol: proto, ttl, key: `${proto}/${id}/${src}/${dst}` };
  if (proto === 1) icmp(b, l4, out);
  else if (proto === 6) tcp(b, l4, out);
  else if (proto === 17) udp(b, l4, out, depth);
}

function icmp(b: Buffer, o: number, out: PacketSummary): void {
  if (b.length < o + 8) return void out.headers.push('ICMP (truncated)');
  const type = b[o];
  const code = b[o + 1];
  const echo = type === 0 || type === 8;
  const ident = b.readUInt16BE(o + 4);
  const seq = b.readUInt16BE(o + 6);
  out.headers.push(
    `ICMP ${ICMP_NAMES[type] ?? `type ${type}`}${code ? ` code ${code}` : ''}` +
      (echo ? ` id ${hex(ident)} seq ${seq}` : ''),
  );
  if (echo && out.inner) out.inner.key += `/${type}/${ident}/${seq}`;
}

function tcp(b: Buffer, o: number, out: PacketSummary): void {
  if (b.length < o + 20) return void out.headers.push('TCP (truncated)');
  const flags = TCP_FLAGS.filter((_, i) => b[o + 13] & (1 << i)).join(',');
  const seq = b.readUInt32BE(o + 4);
  out.headers.push(`TCP ${b.readUInt16BE(o)} → ${b.readUInt16BE(o + 2)} [${flags}] seq ${seq}`);
  if (out.inner) out.inner.key += `/${b.readUInt16BE(o)}/${b.readUInt16BE(o + 2)}/${seq}/${b.readUInt32BE(o + 8)}`;
}

function udp(b: Buffer, o: number, out: PacketSummary, depth: number): void {
  if (b.length < o + 8) return void out.headers.push('UDP (truncated)');
  const sport = b.readUInt16BE(o);
  const dport = b.readUInt16BE(o + 2);
  out.headers.push(`UDP ${sport} → ${dport} len ${b.readUInt16BE(o + 4)}`);
  if (depth === 0 && VXLAN_PORTS.has(dport) && b.length >= o + 16) {
    out.headers.push(`VXLAN VNI ${b.readUIntBE(o + 12, 3)}`);
    return ethernet(b, o + 16, out, 1);
  }
  if (depth === 0 && dport === UDP_BACKEND_PORT) return ipv4(b, o + 8, out, 1);
  if (out.inner) out.inner.key += `/${sport}/${dport}/${b.readUInt16BE(o + 6)}`;
}
