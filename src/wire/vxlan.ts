// VXLAN header codec (RFC 7348), as the Linux kernel VXLAN device and flannel's vxlan backend use
// it: flags byte 0x08 (I flag), 24-bit VNI, all reserved bits zero on send and ignored on receive.
// Accessors over (buf, off) for the hot path (vxlanCheck first on untrusted bytes) and VxlanRepr
// with parseVxlan / vxlanBufferLen / emitVxlan. Nothing throws; nothing keeps the buffer.

export const VXLAN_HEADER_LEN = 8;
export const VXLAN_FLAG_I = 0x08;
/** The Linux kernel's (and flannel's) default VXLAN UDP port. */
export const VXLAN_PORT_LINUX = 8472;
/** The IANA-assigned VXLAN UDP port. */
export const VXLAN_PORT_IANA = 4789;
export const VXLAN_MAX_VNI = 0xffffff;

export const VxlanProblem = {
  Ok: 0,
  Truncated: 1,
  MissingIFlag: 2,
} as const;

const PROBLEM_NAMES = ['ok', 'truncated', 'missing-i-flag'];

export function vxlanProblemName(code: number): string {
  return PROBLEM_NAMES[code] ?? `unknown-${code}`;
}

/** 0 when buf[off, off+len) holds at least a VXLAN header with the I flag set, else a problem code. */
export function vxlanCheck(buf: Uint8Array, off: number, len: number): number {
  if (len < VXLAN_HEADER_LEN || off < 0 || off + len > buf.length) return VxlanProblem.Truncated;
  if ((buf[off] & VXLAN_FLAG_I) === 0) return VxlanProblem.MissingIFlag;
  return VxlanProblem.Ok;
}

export function vxlanFlags(buf: Uint8Array, off: number): number {
  return buf[off];
}

/** The 24-bit VNI (bytes 4..6); the reserved byte 7 is ignored. */
export function vxlanVni(buf: Uint8Array, off: number): number {
  return (buf[off + 4] << 16) | (buf[off + 5] << 8) | buf[off + 6];
}

/** Writes flags 0x08, zero reserved bits and the VNI (masked to 24 bits) at buf[off, off+8). */
export function writeVxlanHeader(buf: Uint8Array, off: number, vni: number): void {
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = (vni >>> 16) & 0xff;
  buf[off + 5] = (vni >>> 8) & 0xff;
  buf[off + 6] = vni & 0xff;
  buf[off + 7] = 0;
}

export interface VxlanRepr {
  vni: number;
}

export type VxlanParseResult = { ok: true; repr: VxlanRepr; headerLen: number } | { ok: false; reason: string };

export function parseVxlan(buf: Uint8Array, off: number, len: number): VxlanParseResult {
  const problem = vxlanCheck(buf, off, len);
  if (problem !== VxlanProblem.Ok) return { ok: false, reason: vxlanProblemName(problem) };
  return { ok: true, headerLen: VXLAN_HEADER_LEN, repr: { vni: vxlanVni(buf, off) } };
}

export function vxlanBufferLen(_repr: VxlanRepr): number {
  return VXLAN_HEADER_LEN;
}

export function emitVxlan(repr: VxlanRepr, buf: Uint8Array, off: number): void {
  writeVxlanHeader(buf, off, repr.vni);
}
