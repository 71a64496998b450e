// `flannelette impair NODE`: changes a running node's link impairments through its control socket:
// a default for every peer, or one peer with --to; --clear, --partition, --heal. With no change
// given, prints the impairments in force and their counters. More than one kind of change at once
// (e.g. --clear with --delay) is refused with ConfigError (exit 2) rather than half applied.
import { Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import { rpcCall } from '../util/rpc.js';
import { fail } from './exit.js';
import { addOutputOption, jsonText, outputFormat } from './output.js';
import { addImpairFlags, impairFields } from './impair-flags.js';
import { DEFAULT_STATE_DIR } from './node-command.js';
import { resolveNodeSocket } from './socket-path.js';

export interface ImpairReply {
  default: string | null;
  peers: Array<{ peer: string; impairment: string }>;
  partitionAll: boolean;
  partitioned: string[];
  counters: { total: Record<string, number> };
}

export function formatImpairReply(r: ImpairReply): string {
  const lines = [`default: ${r.default ?? 'none'}${r.partitionAll ? ' (partitioned from every peer)' : ''}`];
  for (const p of r.peers) lines.push(`to ${p.peer}: ${p.impairment}`);
  if (r.partitioned.length > 0) lines.push(`partitioned from: ${r.partitioned.join(', ')}`);
  lines.push(
    'counters: ' +
      Object.entries(r.counters.total)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  );
  return lines.join('\n');
}

export function registerImpairCommand(program: Command): void {
  const cmd = program
    .command('impair [node]')
    .description(
      "impair a running node's links: delay, jitter, loss, duplication, reordering, corruption, rate, partition",
    )
    .option('--to <peer>', 'only the link to this peer (name or public IP)')
    .option('--clear', 'remove impairments (and heal partitions) — for --to PEER or all')
    .option('--partition', 'drop everything (to --to PEER, or to every peer)')
    .option('--heal', 'end a partition')
    .option('--state-dir <dir>', 'where running nodes keep their control sockets', DEFAULT_STATE_DIR)
    .option('--json', 'print JSON (the reply without the -o json envelope)');
  addOutputOption(cmd);
  addImpairFlags(cmd);
  cmd.action(
    async (
      node: string | undefined,
      flags: Record<string, unknown> & { stateDir: string; json?: boolean; output?: string },
    ) => {
      try {
        outputFormat(flags);
        const fields = impairFields(flags);
        const actions = [
          ...(['clear', 'partition', 'heal'] as const).filter((k) => flags[k] === true).map((k) => `--${k}`),
          ...(Object.keys(fields).length > 0
            ? [
                Object.keys(fields)
                  .map((k) => `--${k.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase())}`)
                  .join(' '),
              ]
            : []),
        ];
        // The node would silently apply only one of them (clear, then partition, then heal, then the values).
        if (actions.length > 1)
          throw new ConfigError(`${actions[0]} cannot be combined with ${actions[1]}: give one change at a time`);
        const change = actions.length > 0;
        const socket = resolveNodeSocket(flags.stateDir, node);
        const reply = (await rpcCall(socket, change ? 'impair' : 'impairments', {
          to: flags.to,
          clear: flags.clear === true,
          partition: flags.partition === true,
          heal: flags.heal === true,
          fields,
        })) as ImpairReply;
        process.stdout.write((jsonText('Impairments', reply, flags) ?? formatImpairReply(reply)) + '\n');
      } catch (err) {
        fail(err);
      }
    },
  );
}
