// `flannelette capture NODE`: streams a running node's capture as a pcap stream, to a file or to
// standard output (`-w -`), so `flannelette capture node1 --point outer -w - | tshark -r -` and
// `... | wireshark -k -i -` work. Ends on Ctrl-C, after --duration seconds, or when the reader goes
// away (a closed pipe is a normal end, exit 0).
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { rpcOpenStream } from '../util/rpc.js';
import { ConfigError } from '../util/errors.js';
import { fail } from './exit.js';
import { DEFAULT_STATE_DIR } from './node-command.js';
import { resolveNodeSocket } from './socket-path.js';
import { backendFacts, isBackendName, type BackendName } from '../backend/table.js';
import { readCommandHint } from '../wireshark/hints.js';

function backendPort(name: BackendName): number {
  const facts = backendFacts(name);
  return facts.encapsulation === 'udp' ? facts.defaultPort : 0;
}

interface CaptureFlags {
  stateDir: string;
  point: string;
  write?: string;
  filter?: string;
  snaplen?: string;
  duration?: string;
}

export function registerCaptureCommand(program: Command): void {
  program
    .command('capture [node]')
    .description(
      "stream a running node's packets as pcap (inner: pod packets at the TUN device; outer: encapsulated UDP on the underlay)",
    )
    .addOption(new Option('--point <point>', 'capture point').choices(['inner', 'outer']).default('inner'))
    .option('-w, --write <file>', 'write the pcap stream to FILE, or - for standard output')
    .option('--filter <expr>', 'host A, net CIDR, proto icmp|tcp|udp, port N, joined by and')
    .option('--snaplen <bytes>', 'bytes kept of each packet')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--state-dir <dir>', 'where running nodes keep their control sockets', DEFAULT_STATE_DIR)
    .action(async (node: string | undefined, flags: CaptureFlags) => {
      try {
        await runCapture(node, flags);
      } catch (err) {
        fail(err);
      }
    });
}

async function runCapture(node: string | undefined, flags: CaptureFlags): Promise<void> {
  const target = flags.write ?? (process.stdout.isTTY ? undefined : '-');
  if (!target) throw new ConfigError('a pcap stream is binary: give -w FILE, or pipe it, e.g. `-w - | tshark -r -`');
  const duration = flags.duration === undefined ? undefined : Number(flags.duration);
  if (duration !== undefined && !(duration > 0))
    throw new ConfigError(`--duration ${flags.duration}: expected a positive number of seconds`);
  const socketPath = resolveNodeSocket(flags.stateDir, node);
  const params = { point: flags.point, filter: flags.filter, snaplen: flags.snaplen };
  const { result, socket } = await rpcOpenStream(socketPath, 'capture', params);
  if (target !== '-') {
    const r = result as { backend?: string; port?: number };
    const backend = isBackendName(r.backend ?? '') ? (r.backend as BackendName) : 'vxlan';
    const hint = readCommandHint(target, backend, r.port ?? backendPort(backend));
    process.stderr.write(`capturing into ${target}; read it with: ${hint}\n`);
  }
  const out: Writable = target === '-' ? process.stdout : fs.createWriteStream(target);
  const finish = (): void => {
    socket.destroy();
    if (out === process.stdout) process.exit(0);
    out.end(() => process.exit(0));
  };
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') finish();
    else fail(err);
  });
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  if (duration !== undefined) setTimeout(finish, duration * 1000).unref();
  socket.on('end', finish);
  socket.on('error', finish);
  socket.pipe(out, { end: false });
  socket.resume();
}
