// A process's environment as it was when it started (/proc/PID/environ), for telling the processes a
// program started (they carry a mark variable, inherited by their children) from everybody else's.
// Platform code (Linux). Never throws: an unreadable or vanished process has no entries.
import fs from 'node:fs';

/** The `NAME=value` entries of `pid`'s initial environment ([] when unreadable or gone). */
export function environOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** True when `pid`'s environment has exactly `name=value`. */
export function hasEnvEntry(pid: number, name: string, value: string): boolean {
  return environOf(pid).includes(`${name}=${value}`);
}
