// Checks, before touching any device, that this process may configure the network: root, or the
// capabilities the operation needs (CapEff of /proc/self/status, read by sys/proc.ts).
import { CAP_NET_ADMIN, CAP_SYS_ADMIN, hasCapabilitiesIn, readSelfStatus } from '../sys/proc.js';
import { PermissionError } from '../util/errors.js';

export { CAP_NET_ADMIN, CAP_SYS_ADMIN };

export function hasCapability(cap: number): boolean {
  if (process.getuid?.() === 0) return true;
  return hasCapabilitiesIn(readSelfStatus(), [cap]);
}

export function requireCapabilities(what: string, caps: number[], hint: string): void {
  if (!caps.every(hasCapability)) throw new PermissionError(`${what} needs root (or ${hint})`);
}
