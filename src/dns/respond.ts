// One DNS message in, one out (RFC 1035, RFC 6891 EDNS(0)), over ClusterRecords:
//   - fewer than 12 bytes, or a response (QR set): dropped (undefined), counted `malformed`/`dropped`;
//   - a header that decodes but a body that does not, or not exactly one question: FORMERR, counted;
//   - an opcode other than QUERY: NOTIMP; a class other than IN: REFUSED;
//   - otherwise the lookup's rcode and records, AA set for names in the zone, RD copied;
//   - over UDP the answer fits in 512 bytes, or the EDNS(0) size the query advertises (at most 4096):
//     additional records go first, then answers are cut and TC is set (RFC 2181 §9), so the client asks
//     again over TCP. A query with an OPT record gets one back.
// The input buffer is only read; the returned buffer is new. Never throws.
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';
import type { ClusterRecords } from './records.js';

export interface DnsCounters {
  queries: number;
  answered: number;
  nxdomain: number;
  refused: number;
  formerr: number;
  /** Too short to carry a header: dropped without an answer. */
  malformed: number;
  /** Responses or other messages that get no answer. */
  dropped: number;
  truncated: number;
}

export function newCounters(): DnsCounters {
  return { queries: 0, answered: 0, nxdomain: 0, refused: 0, formerr: 0, malformed: 0, dropped: 0, truncated: 0 };
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type RcodeName = keyof typeof RCODE;
const QR = 0x8000;
const OPCODE_MASK = 0x7800;

export const UDP_MIN = 512;
export const UDP_MAX = 4096;

/** The error answer built by hand from the raw header (used when the body cannot be decoded). */
function headerOnly(msg: Buffer, rcode: RcodeName): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  const flags = msg.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & OPCODE_MASK) | (flags & 0x0100) | RCODE[rcode], 2);
  return out;
}

function encode(p: Packet): Buffer {
  return dnsPacket.encode(p);
}

export function respond(
  msg: Buffer,
  transport: 'udp' | 'tcp',
  records: ClusterRecords,
  c: DnsCounters,
): Buffer | undefined {
  if (msg.length < 12) {
    c.malformed++;
    return undefined;
  }
  const flags = msg.readUInt16BE(2);
  if (flags & QR) {
    c.dropped++;
    return undefined;
  }
  c.queries++;
  if ((flags & OPCODE_MASK) !== 0) return headerOnly(msg, 'NOTIMP');
  let q: DecodedPacket;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    c.formerr++;
    return headerOnly(msg, 'FORMERR');
  }
  const questions = q.questions ?? [];
  if (questions.length !== 1 || typeof questions[0].name !== 'string') {
    c.formerr++;
    return headerOnly(msg, 'FORMERR');
  }
  const question = questions[0];
  const opt = (q.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  const rd = flags & dnsPacket.RECURSION_DESIRED;
  const reply = (
    rcode: RcodeName,
    aa: boolean,
    answers: Answer[] = [],
    authorities: Answer[] = [],
    additionals: Answer[] = [],
  ): Packet => ({
    id: q.id,
    type: 'response',
    flags: rd | (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE[rcode],
    questions: [question],
    answers,
    authorities,
    additionals: opt
      ? [...additionals, { type: 'OPT', name: '.', udpPayloadSize: UDP_MAX, flags: 0 } as OptAnswer]
      : additionals,
  });
  let packet: Packet;
  if ((question.class ?? 'IN') !== 'IN') {
    c.refused++;
    packet = reply('REFUSED', false);
  } else {
    const r = records.lookup(question.name, question.type);
    if (r.rcode === 'REFUSED') c.refused++;
    else if (r.rcode === 'NXDOMAIN') c.nxdomain++;
    packet = reply(r.rcode, r.authoritative, r.answers, r.authorities, r.additionals);
  }
  c.answered++;
  let out: Buffer;
  try {
    out = encode(packet);
  } catch {
    return headerOnly(msg, 'SERVFAIL');
  }
  if (transport === 'tcp') return out;
  const limit = Math.min(UDP_MAX, Math.max(UDP_MIN, opt?.udpPayloadSize ?? UDP_MIN));
  if (out.length <= limit) return out;
  return truncate(packet, limit, c);
}

/** Drops additional records, then answers from the end, until the message fits; TC is set once answers go. */
function truncate(p: Packet, limit: number, c: DnsCounters): Buffer {
  const opt = (p.additionals ?? []).filter((a) => a.type === 'OPT');
  const lean = encode({ ...p, additionals: opt });
  if (lean.length <= limit) return lean;
  c.truncated++;
  const answers = [...(p.answers ?? [])];
  const tc: Packet = { ...p, additionals: opt, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE };
  for (;;) {
    answers.pop();
    const out = encode({ ...tc, answers });
    if (out.length <= limit || answers.length === 0) return out;
  }
}
