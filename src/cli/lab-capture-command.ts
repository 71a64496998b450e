// `flannelette lab capture`: every chosen node and point of a lab into one pcapng stream (a file or
// standard output), until Ctrl-C, --duration seconds, --count packets, or the reader going away (a
// closed pipe is a normal end). A closing line on standard error says how many packets each
// interface gave and how many copies were dropped (a reader slower than the lab). Exit 0, or 1 when
// writing failed (e.g. the disk is full).
import fs from 'node:fs';
import { isatty } from 'node:tty';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { requireState, resolveLabName } from '../lab/lab.js';
import type { CapturePoint } from '../lab/topology.js';
import { ConfigError } from '../util/errors.js';
import { isBackendName } from '../backend/table.js';
import { startLabCapture } from '../wireshark/lab-capture.js';
import { readCommandHint } from '../wireshark/hints.js';
import { fail } from './exit.js';

interface Flags {
  name?: string;
  nodes?: string;
  points: string;
  filter?: string;
  snaplen?: string;
  duration?: string;
  count?: string;
  write?: string;
  quiet?: boolean;
  bufferMb?: string;
}

const list = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function positive(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new ConfigError(`${flag} ${value}: expected a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

async function runLabCapture(flags: Flags): Promise<void> {
  const target = flags.write ?? (isatty(1) ? undefined : '-');
  if (!target)
    throw new ConfigError('pcapng is binary: give -w FILE.pcapng, or pipe it, e.g. `-w - | wireshark -k -i -`');
  const duration = positive('--duration', flags.duration, false);
  const count = positive('--count', flags.count, true);
  const snaplen = positive('--snaplen', flags.snaplen, true);
  const bufferMb = positive('--buffer-mb', flags.bufferMb, false);
  const state = requireState(await resolveLabName(flags.name));
  const backend = state.topology.backend.type;
  if (!isBackendName(backend)) {
    throw new ConfigError(
      `lab ${state.topology.name} uses ${backend}: its nodes have no data path to capture; capture the underlay, ` +
        `e.g. ip netns exec ${state.topology.underlayNetns} tcpdump -ni br0 -w - | tshark -r -`,
    );
  }
  // process.stdout queues a stalled pipe's writes without blocking us (write() says when to wait),
  // where an fs stream on fd 1 fails with EAGAIN once stdout is non-blocking.
  const out: Writable = target === '-' ? process.stdout : fs.createWriteStream(target);
  let outputGone = false;
  let failed = false; // an output error other than the reader going away: exit 1
  let stopping = false;
  const capture = await startLabCapture({
    state,
    nodes: list(flags.nodes),
    points: list(flags.points) as CapturePoint[],
    filter: flags.filter,
    snaplen,
    limit: count,
    bufferBytes: bufferMb === undefined ? undefined : Math.round(bufferMb * 1024 * 1024),
    out,
    application: 'flannelette lab capture',
    onError: (err) => {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') outputGone = true;
      else if (!stopping) {
        failed = true;
        process.stderr.write(`flannelette: ${err.message}\n`);
      }
    },
  });
  const say = (line: string): void => void (flags.quiet || process.stderr.write(`${line}\n`));
  say(
    `capturing ${capture.sources.map((s) => s.name).join(', ')} of lab ${state.topology.name}` +
      (target === '-' ? '' : ` into ${target}`),
  );
  let reportedDrops = 0;
  const watch = setInterval(() => {
    const d = capture.stats().dropped;
    if (d > reportedDrops)
      say(`flannelette: the reader is slower than the lab: ${d} captured copies dropped so far (packets are not)`);
    reportedDrops = d;
  }, 1000);
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('interrupted'));
    process.once('SIGTERM', () => resolve('terminated'));
    out.once('error', () => resolve('the reader went away'));
    out.once('close', () => resolve('the reader went away'));
    if (duration !== undefined) setTimeout(() => resolve(`${duration} s passed`), duration * 1000).unref();
    void capture.done.then((why) =>
      resolve(why === 'limit' ? `${count} packets captured` : 'the nodes ended their streams'),
    );
  });
  const why = await stopped;
  stopping = true;
  clearInterval(watch);
  // A reader that stopped reading gets 2 s to take what is held; then we leave without it.
  const grace = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
  await Promise.race([capture.stop(), grace(2000)]);
  // Ending a stream whose last write never completed (a stalled pipe) fails; leave it to exit.
  if (!outputGone && !out.destroyed && !out.writableNeedDrain) {
    const flushed =
      out === process.stdout
        ? new Promise<void>((resolve) => (out.writableLength === 0 ? resolve() : out.once('drain', () => resolve())))
        : new Promise<void>((resolve) => out.end(() => resolve()));
    await Promise.race([flushed, grace(2000)]);
  }
  const stats = capture.stats();
  const per = stats.perInterface
    .map((p) => `${p.name} ${p.written}${p.dropped ? ` (+${p.dropped} dropped)` : ''}`)
    .join(', ');
  const unwritten = stats.held > 0 ? `, ${stats.held} never taken by the reader` : '';
  say(`stopped (${why}): ${stats.written} packets written (${per}); ${stats.dropped} copies dropped${unwritten}`);
  if (target !== '-') say(`read it with: ${readCommandHint(target, backend, state.topology.backend.port)}`);
  process.exit(failed ? 1 : 0);
}

export function registerLabCaptureCommand(lab: Command): void {
  lab
    .command('capture')
    .description('capture nodes and points of a lab into one pcapng (one interface per node/point, in timestamp order)')
    .option('--nodes <list>', 'comma-separated node names (default: all)')
    .option('--points <list>', 'comma-separated capture points: inner, outer', 'inner,outer')
    .option('--filter <expr>', 'host A, net CIDR, proto icmp|tcp|udp, port N, joined by and (on the inner packet)')
    .option('--snaplen <bytes>', 'bytes kept of each packet')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--count <n>', 'stop after this many packets')
    .option('-w, --write <file>', 'write pcapng to FILE, or - for standard output')
    .option('--buffer-mb <n>', 'packets held for a slow reader before copies are dropped (default 16)')
    .option('-q, --quiet', 'no progress lines on standard error')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(async (flags: Flags) => {
      try {
        await runLabCapture(flags);
      } catch (err) {
        fail(err);
      }
    });
}
