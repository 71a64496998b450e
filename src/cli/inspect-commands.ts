// Commands that talk to a running node over its control socket: status, routes, stats, trace.
// Each prints a human table by default and JSON with --json. Errors: one line, non-zero exit.
import { Command } from 'commander';
import type { RouteReply, StatsReply, StatusReply, TraceReply } from '../node/rpc-handlers.js';
import { rpcCall } from '../util/rpc.js';
import { fail } from './exit.js';
import { DEFAULT_STATE_DIR } from './node-command.js';
import { resolveNodeSocket } from './socket-path.js';
import { formatTable } from '../util/text-table.js';
import { formatBytes, formatAgo } from './format.js';
import { addOutputOption, jsonText, type OutputFlags, type OutputKind } from './output.js';

interface CommonFlags extends OutputFlags {
  stateDir: string;
}

function withCommon(cmd: Command): Command {
  return addOutputOption(
    cmd
      .option('--state-dir <dir>', 'where running nodes keep their control sockets', DEFAULT_STATE_DIR)
      .option('--json', 'print JSON for scripts (the reply without the -o json envelope)'),
  );
}

async function call(
  node: string | undefined,
  flags: CommonFlags,
  method: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  return rpcCall(resolveNodeSocket(flags.stateDir, node), method, params);
}

/** Prints the reply as JSON when the flags ask for it; false when the command prints text. */
function printJson(kind: OutputKind, v: unknown, flags: OutputFlags): boolean {
  const text = jsonText(kind, v, flags);
  if (text !== undefined) process.stdout.write(text + '\n');
  return text !== undefined;
}

export function formatStatus(s: StatusReply): string {
  const lines = [
    `node ${s.name}  up ${s.uptimeSeconds}s  membership ${s.membership.source} (${s.membership.state})${s.membership.lastError ? ` last error: ${s.membership.lastError}` : ''}`,
    `  subnet ${s.subnet} of ${s.network}   public IP ${s.publicIp}`,
    `  backend ${s.backend}${s.vni !== undefined ? ` VNI ${s.vni}` : ''} port ${s.port}${s.vtepMac ? `  VTEP MAC ${s.vtepMac}` : ''}`,
    ...(s.subnet6
      ? [
          `  IPv6 subnet ${s.subnet6} of ${s.network6 ?? '?'}${s.publicIpv6 ? `   public IPv6 ${s.publicIpv6}` : ''}${s.vtepMacV6 ? `  IPv6 VTEP MAC ${s.vtepMacV6}` : ''}`,
        ]
      : []),
    `  TUN ${s.tun} MTU ${s.mtu} (path MTU ${s.pathMtu})`,
    ...(s.wireguard
      ? [
          `  wireguard public key ${s.publicKey}  handshakes ${s.wireguard.handshakesCompleted}  cookie replies sent ${s.wireguard.cookieRepliesSent}`,
        ]
      : []),
    `  sent ${s.counters.txPackets} packets (${formatBytes(s.counters.txBytes)})  received ${s.counters.rxPackets} packets (${formatBytes(s.counters.rxBytes)})  dropped ${Object.values(s.counters.drops).reduce((a, b) => a + b, 0)}`,
    '',
    formatTable(
      ['PEER', 'PUBLIC IP', 'SUBNET', 'VTEP MAC', 'TX PKTS', 'TX BYTES', 'LAST TX', 'RX PKTS', 'RX BYTES', 'LAST RX'],
      s.peers.map((p) => [
        p.name,
        p.publicIpv6 ? `${p.publicIp} ${p.publicIpv6}` : p.publicIp,
        p.subnet6 ? `${p.subnet} ${p.subnet6}` : p.subnet,
        p.vtepMacV6 && p.vtepMacV6 !== p.vtepMac ? `${p.vtepMac ?? '-'} ${p.vtepMacV6}` : (p.vtepMac ?? '-'),
        String(p.txPackets),
        formatBytes(p.txBytes),
        formatAgo(p.lastTxAgo),
        String(p.rxPackets),
        formatBytes(p.rxBytes),
        formatAgo(p.lastRxAgo),
      ]),
    ),
  ];
  if (s.wireguard) {
    lines.push(
      '',
      formatTable(
        ['PEER', 'PUBLIC KEY', 'ENDPOINT', 'SESSION', 'HANDSHAKES', 'LAST HANDSHAKE'],
        s.wireguard.peers.map((p) => [
          p.name,
          p.publicKey,
          p.endpoint ?? '-',
          p.session ? 'yes' : 'no',
          String(p.handshakes),
          formatAgo(p.lastHandshakeAgo),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

export function registerInspectCommands(program: Command): void {
  withCommon(
    program
      .command('status [node]')
      .description('show a running node: lease, backend, TUN, peers and traffic per peer'),
  ).action(async (node: string | undefined, flags: CommonFlags) => {
    try {
      const s = (await call(node, flags, 'status')) as StatusReply;
      if (!printJson('NodeStatus', s, flags)) process.stdout.write(formatStatus(s) + '\n');
    } catch (err) {
      fail(err);
    }
  });

  withCommon(program.command('routes [node]').description('show the route table a running node forwards with')).action(
    async (node: string | undefined, flags: CommonFlags) => {
      try {
        const routes = (await call(node, flags, 'routes')) as RouteReply[];
        if (!printJson('RouteList', routes, flags))
          process.stdout.write(
            formatTable(
              ['SUBNET', 'PEER', 'VIA (PUBLIC IP)', 'PORT', 'VTEP MAC', 'DEVICE'],
              routes.map((r) => [
                r.subnet,
                r.peer,
                r.publicIpv6 ?? r.publicIp,
                String(r.port),
                r.vtepMacV6 ?? r.vtepMac ?? '-',
                r.device,
              ]),
            ) + '\n',
          );
      } catch (err) {
        fail(err);
      }
    },
  );

  withCommon(program.command('stats [node]').description('show counters, every drop reason, and rates'))
    .option('--watch', 'refresh every second with rates')
    .action(async (node: string | undefined, flags: CommonFlags & { watch?: boolean }) => {
      try {
        let prev: StatsReply | undefined;
        for (;;) {
          const s = (await call(node, flags, 'stats')) as StatsReply;
          if (!printJson('NodeStats', s, flags))
            process.stdout.write((flags.watch ? '\x1b[2J\x1b[H' : '') + formatStats(s, prev) + '\n');
          if (!flags.watch) return;
          prev = s;
          await new Promise((r) => setTimeout(r, 1000));
        }
      } catch (err) {
        fail(err);
      }
    });

  withCommon(
    program.command('trace <node>').description('explain what the node would do with a packet, without sending it'),
  )
    .requiredOption('--from <ip>', 'inner source address')
    .requiredOption('--to <ip>', 'inner destination address')
    .option('--proto <proto>', 'icmp, tcp or udp', 'icmp')
    .option('--port <port>', 'destination port (tcp/udp)')
    .option('--sport <port>', 'source port (tcp/udp; default 32768): it picks the vxlan outer source port')
    .option('--size <bytes>', 'inner packet size', '84')
    .option('--df', "set Don't Fragment")
    .option('--ttl <ttl>', 'TTL as it reaches the node', '64')
    .action(
      async (
        node: string,
        flags: CommonFlags & {
          from: string;
          to: string;
          proto: string;
          port?: string;
          sport?: string;
          size: string;
          df?: boolean;
          ttl: string;
        },
      ) => {
        try {
          const params = {
            from: flags.from,
            to: flags.to,
            proto: flags.proto,
            port: flags.port,
            sport: flags.sport,
            size: flags.size,
            df: flags.df ?? false,
            ttl: flags.ttl,
          };
          const r = (await call(node, flags, 'trace', params)) as TraceReply;
          if (!printJson('Trace', r, flags))
            process.stdout.write(r.steps.map((s, i) => `${i + 1}. ${s}`).join('\n') + `\nverdict: ${r.verdict}\n`);
        } catch (err) {
          fail(err);
        }
      },
    );
}

type CountersAt = Pick<StatsReply, 'at' | 'counters'>;

function formatStats(s: CountersAt, prev?: CountersAt): string {
  const dt = prev ? (s.at - prev.at) / 1000 : 0;
  const rate = (now: number, before: number | undefined): string =>
    prev && dt > 0 ? `${((now - (before ?? 0)) / dt).toFixed(1)}/s` : '';
  const c = s.counters;
  const p = prev?.counters;
  const rows: string[][] = [
    ['tx packets', String(c.txPackets), rate(c.txPackets, p?.txPackets)],
    ['tx bytes', String(c.txBytes), rate(c.txBytes, p?.txBytes)],
    ['rx packets', String(c.rxPackets), rate(c.rxPackets, p?.rxPackets)],
    ['rx bytes', String(c.rxBytes), rate(c.rxBytes, p?.rxBytes)],
    ['icmp errors sent', String(c.icmpSent), rate(c.icmpSent, p?.icmpSent)],
    ...Object.entries(c.drops).map(([k, v]) => [`drop ${k}`, String(v), rate(v, p?.drops[k as keyof typeof c.drops])]),
  ];
  return formatTable(['COUNTER', 'VALUE', 'RATE'], rows);
}
