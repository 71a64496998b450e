// What this process may do and whether other processes live, from /proc: effective capabilities
// (CapEff in /proc/self/status) and the zombie check (state Z in /proc/PID/stat). Pure parsers
// plus thin readers; nothing throws (an unreadable file means "no" / "not alive").
// Platform code (Linux).
import fs from 'node:fs';

// Capability bits (linux/capability.h).
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_SYS_ADMIN = 21;

/** The effective capability set in /proc/self/status text, or undefined when there is none. */
export function parseEffectiveCapabilities(statusText: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** True when every capability in `caps` is in the effective set of `statusText`. */
export function hasCapabilitiesIn(statusText: string, caps: readonly number[]): boolean {
  const set = parseEffectiveCapabilities(statusText);
  return set !== undefined && caps.every((cap) => ((set >> BigInt(cap)) & 1n) === 1n);
}

/** This process's /proc/self/status ('' when it cannot be read). */
export function readSelfStatus(): string {
  try {
    return fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

/** True when the state field of /proc/PID/stat text is Z (exited, not yet reaped). */
export function isZombieStat(statText: string): boolean {
  // the command name in parentheses may hold spaces and ')': the state follows the last ')'
  return / Z /.test(statText.replace(/^.*\)/s, ''));
}

/** True when `pid` is a zombie, or gone. */
export function isZombie(pid: number): boolean {
  try {
    return isZombieStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** True when `pid` exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !isZombie(pid);
}
