// Packet captures in integration tests: tcpdump on an interface inside a test's namespace while the
// test makes traffic (captureWhile), and tshark's fields of the file it wrote, one line a frame
// (tsharkFields; tshark for any other arguments). tshark's exit code is asserted; its stderr (the
// warning about running as root) is not.
import { spawn, spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { stopProcess } from './cluster.js';
import { waitUntil } from './wait.js';

export const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

export interface CaptureSpec {
  /** The network namespace tcpdump runs in. */
  netns: string;
  iface: string;
  /** tcpdump stops after this many frames. */
  count: number;
  /** A pcap filter: only the frames the test looks at (an IGMP report or ARP would take a place in the count). */
  filter: string;
  file: string;
}

/**
 * Writes `count` frames matching the filter to `file` while `traffic` runs. `once`: the traffic runs
 * once and brings every frame; `repeat`: it runs again until tcpdump has them all (or 10 s pass).
 */
export async function captureWhile(
  spec: CaptureSpec,
  traffic: () => Promise<unknown>,
  mode: 'once' | 'repeat' = 'once',
): Promise<void> {
  const dump = spawn(
    'ip',
    ['netns', 'exec', spec.netns, 'tcpdump', '-ni', spec.iface, '-U', '-c', String(spec.count), '-w', spec.file].concat(
      spec.filter,
    ),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  dump.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise((r) => dump.once('exit', r));
  try {
    await waitUntil(() => err.includes('listening on'), 'tcpdump to listen');
    if (mode === 'once') {
      await traffic();
      await exited;
    } else {
      await waitUntil(async () => {
        await traffic();
        return dump.exitCode !== null;
      }, `tcpdump to catch ${spec.count} frames (${spec.filter})`);
    }
  } finally {
    await stopProcess(dump);
  }
}

export interface FieldOptions {
  /** `-d` decode-as rules, e.g. 'udp.port==8472,vxlan'. */
  decode?: string[];
  /** `-Y` display filter. */
  display?: string;
  /** `-E separator=…` ('|', '/s' for a space); tshark's default is a tab. */
  separator?: string;
  /** `-o` preferences, e.g. 'udp.check_checksum:TRUE'. */
  prefs?: string[];
}

/** `tshark -r file -T fields -e …`: one line a frame, the fields in the order given. */
export function tsharkFields(file: string, fields: string[], opts: FieldOptions = {}): string[] {
  return tshark([
    '-r',
    file,
    ...(opts.prefs ?? []).flatMap((p) => ['-o', p]),
    ...(opts.decode ?? []).flatMap((d) => ['-d', d]),
    ...(opts.display ? ['-Y', opts.display] : []),
    '-T',
    'fields',
    ...(opts.separator ? ['-E', `separator=${opts.separator}`] : []),
    ...fields.flatMap((f) => ['-e', f]),
  ]);
}

/** Runs tshark; its non-empty output lines. Fails the test when tshark exits non-zero. */
export function tshark(args: string[]): string[] {
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, `tshark ${args.join(' ')} failed: ${r.stderr}`).toBe(0);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}
