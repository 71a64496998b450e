// Checks, before touching any device, that this process may configure the network: root, or the
// capabilities the operation needs (read from /proc/self/status CapEff).
import fs from 'node:fs';
import { PermissionError } from '../util/errors.js';

export const CAP_NET_ADMIN = 12;
export const CAP_SYS_ADMIN = 21;

export function hasCapability(cap: number): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
    if (!line) return false;
    return ((BigInt('0x' + line.slice(7).trim()) >> BigInt(cap)) & 1n) === 1n;
  } catch {
    return false;
  }
}

export function requireCapabilities(what: string, caps: number[], hint: string): void {
  if (!caps.every(hasCapability)) throw new PermissionError(`${what} needs root (or ${hint})`);
}
