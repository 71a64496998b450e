// The Wireshark extcap protocol (Wireshark's doc/wsdg_src/wsdg_capture.adoc, "Adding Capture
// Interfaces … Using Extcap"), answered for flannelette's capture points:
//   --extcap-interfaces [--extcap-version=X]   `extcap {version}{help}` then one `interface` line per
//                                              running node and point (see points.ts)
//   --extcap-interface I --extcap-dlts          the point's link type (Ethernet outer, raw IP inner)
//   --extcap-interface I --extcap-config        the options: capture filter (flannelette's filter
//                                              language) and snap length
//   --extcap-interface I --extcap-capture-filter F   (no --capture) validates F: prints nothing when
//                                              valid, else one line saying what is wrong
//   --extcap-interface I --capture --fifo F [--filter X] [--snaplen N] [--extcap-capture-filter F]
//                                              streams the node's live pcap into the fifo until
//                                              SIGTERM/SIGINT, the fifo's reader closing, or the node ending;
//                                              when it cannot start, the fifo is opened and closed
//                                              (dumpcap would wait for a writer) and the reason goes to stderr
// Unknown options are ignored (Wireshark adds some of its own). runExtcap resolves with the exit
// code (0 ok, 1 bad arguments or interface, 2 the node did not answer); it never throws.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parseCaptureFilter } from '../capture/filter.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../capture/pcap.js';
import { oneLine } from '../util/errors.js';
import { rpcOpenStream } from '../util/rpc.js';
import { parsePointValue, runningPoints, socketOfPoint, type PointSearch } from './points.js';

export const EXTCAP_VERSION = '1.0';
const HELP = 'https://github.com/flannelette/flannelette#wireshark';

export interface ExtcapIo extends PointSearch {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Resolves when Wireshark asks the capture to stop (SIGTERM / SIGINT). */
  stopSignal?: Promise<void>;
}

interface ExtcapArgs {
  interfaces: boolean;
  iface?: string;
  dlts: boolean;
  config: boolean;
  capture: boolean;
  fifo?: string;
  captureFilter?: string;
  filter?: string;
  snaplen?: string;
}

function parse(argv: string[]): ExtcapArgs {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    options: {
      'extcap-interfaces': { type: 'boolean' },
      'extcap-interface': { type: 'string' },
      'extcap-dlts': { type: 'boolean' },
      'extcap-config': { type: 'boolean' },
      'extcap-capture-filter': { type: 'string' },
      'extcap-version': { type: 'string' },
      capture: { type: 'boolean' },
      fifo: { type: 'string' },
      filter: { type: 'string' },
      snaplen: { type: 'string' },
    },
  });
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    interfaces: values['extcap-interfaces'] === true,
    iface: str(values['extcap-interface']),
    dlts: values['extcap-dlts'] === true,
    config: values['extcap-config'] === true,
    capture: values.capture === true,
    fifo: str(values.fifo),
    captureFilter: str(values['extcap-capture-filter']),
    filter: str(values.filter),
    snaplen: str(values.snaplen),
  };
}

/** Braces and newlines cannot appear inside an extcap value. */
const clean = (s: string): string => s.replace(/[{}\n\r]/g, ' ');

export function dltLine(point: 'inner' | 'outer'): string {
  return point === 'outer'
    ? `dlt {number=${LINKTYPE_ETHERNET}}{name=EN10MB}` +
        '{display=Ethernet (outer headers rebuilt from the underlay addresses)}'
    : `dlt {number=${LINKTYPE_RAW}}{name=RAW}{display=Raw IP (pod packets)}`;
}

export function configLines(): string[] {
  return [
    'arg {number=0}{call=--filter}{display=Capture filter}{type=string}' +
      '{tooltip=flannelette filter on the inner packet: host A, net CIDR, proto icmp|tcp|udp, port N, joined by and}' +
      '{placeholder=host 10.244.2.2 and proto icmp}',
    'arg {number=1}{call=--snaplen}{display=Snap length}{type=unsigned}{range=64,262144}{default=262144}' +
      '{tooltip=Bytes kept of each packet}',
  ];
}

/** The filter the node gets: --filter and Wireshark's capture filter, joined by `and`. */
export function combinedFilter(a: string | undefined, b: string | undefined): string {
  return [a, b]
    .map((s) => (s ?? '').trim())
    .filter(Boolean)
    .join(' and ');
}

export async function runExtcap(argv: string[], io: ExtcapIo): Promise<number> {
  const out = (line: string): void => void io.stdout.write(`${line}\n`);
  const err = (line: string): void => void io.stderr.write(`flannelette extcap: ${line}\n`);
  let args: ExtcapArgs;
  try {
    args = parse(argv);
  } catch (e) {
    err(oneLine(e));
    return 1;
  }
  if (args.interfaces) {
    out(`extcap {version=${EXTCAP_VERSION}}{help=${HELP}}`);
    for (const p of await runningPoints(io)) out(`interface {value=${clean(p.value)}}{display=${clean(p.display)}}`);
    return 0;
  }
  if (!args.iface) {
    err('give --extcap-interfaces, or --extcap-interface with --extcap-dlts, --extcap-config or --capture');
    return 1;
  }
  const point = parsePointValue(args.iface);
  if (!point) {
    err(`${args.iface} is not a flannelette capture point (node/point or lab/node/point, point inner or outer)`);
    return 1;
  }
  if (args.dlts) {
    out(dltLine(point.point));
    return 0;
  }
  if (args.config) {
    for (const l of configLines()) out(l);
    return 0;
  }
  const filter = combinedFilter(args.filter, args.captureFilter);
  try {
    parseCaptureFilter(filter);
  } catch (e) {
    if (!args.capture) {
      out(oneLine(e));
      return 0;
    }
    err(oneLine(e));
    if (args.fifo) await releaseFifo(args.fifo);
    return 1;
  }
  if (!args.capture) return 0; // a valid filter: nothing to say
  if (!args.fifo) {
    err('--capture needs --fifo');
    return 1;
  }
  return capture(args.fifo, socketOfPoint(point, io), { point: point.point, filter, snaplen: args.snaplen }, io, err);
}

async function capture(
  fifo: string,
  socketPath: string,
  params: Record<string, unknown>,
  io: ExtcapIo,
  err: (l: string) => void,
): Promise<number> {
  let socket;
  try {
    ({ socket } = await rpcOpenStream(socketPath, 'capture', params));
  } catch (e) {
    err(oneLine(e));
    await releaseFifo(fifo);
    return 2;
  }
  const sink = fs.createWriteStream(fifo);
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    sink.once('error', () => resolve());
    sink.once('close', () => resolve());
    void io.stopSignal?.then(() => resolve());
  });
  socket.pipe(sink);
  socket.resume();
  await ended;
  socket.destroy();
  if (!sink.destroyed) await new Promise<void>((resolve) => sink.end(() => resolve()));
  return 0;
}

/**
 * Opens and closes Wireshark's fifo when a capture cannot start: dumpcap waits in open() for a
 * writer, and would wait forever if we just exited. Only an existing fifo; gives up after 2 s.
 */
async function releaseFifo(fifo: string): Promise<void> {
  try {
    if (!fs.statSync(fifo).isFIFO()) return;
  } catch {
    return;
  }
  const opened = fs.promises.open(fifo, 'w').then((fh) => fh.close());
  await Promise.race([opened.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
}
