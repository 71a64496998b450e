// `flannelette lab impair|partition|heal`: link emulation between two nodes of a running lab, both
// directions at once (each node impairs what it sends to the other), through the nodes' control
// sockets — the same `impair` requests `flannelette impair NODE --to PEER` sends.
import { Option, type Command } from 'commander';
import { labPaths, controlSocket } from '../lab/state.js';
import { requireState, resolveLabName } from '../lab/lab.js';
import { ConfigError } from '../util/errors.js';
import { rpcCall } from '../util/rpc.js';
import { fail } from './exit.js';
import { addOutputOption, jsonText, outputFormat } from './output.js';
import { addImpairFlags, impairFields } from './impair-flags.js';
import { formatImpairReply, type ImpairReply } from './impair-command.js';

type Flags = Record<string, unknown> & { name?: string; json?: boolean; output?: string };

async function bothWays(a: string, b: string, flags: Flags, request: Record<string, unknown>): Promise<void> {
  outputFormat(flags);
  if (a === b) throw new ConfigError(`give two different nodes (got ${a} twice)`);
  const lab = await resolveLabName(flags.name);
  const state = requireState(lab);
  const nodes = state.topology.nodes.map((n) => n.name);
  for (const n of [a, b])
    if (!nodes.includes(n)) throw new ConfigError(`"${n}" is not a node of lab ${lab} (nodes: ${nodes.join(', ')})`);
  const paths = labPaths(lab);
  const replies: Record<string, ImpairReply> = {};
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    replies[from] = (await rpcCall(controlSocket(paths, from), 'impair', { ...request, to })) as ImpairReply;
  }
  const json = jsonText('LinkImpairments', { nodes: replies }, flags);
  if (json !== undefined) process.stdout.write((flags.json ? JSON.stringify(replies, null, 2) : json) + '\n');
  else
    for (const [node, r] of Object.entries(replies))
      process.stdout.write(`${node}:\n${formatImpairReply(r).replace(/^/gm, '  ')}\n`);
}

export function registerLabImpairCommands(lab: Command): void {
  const impair = lab
    .command('impair')
    .description('impair the link between two nodes of a lab, both ways (delay, jitter, loss, rate, …)')
    .argument('<node-a>')
    .argument('<node-b>')
    .option('--clear', 'remove the impairments between the two nodes')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .option('--json', 'print JSON');
  addOutputOption(impair);
  addImpairFlags(impair);
  impair.action(async (a: string, b: string, flags: Flags) => {
    try {
      const fields = impairFields(flags);
      if (!flags.clear && Object.keys(fields).length === 0)
        throw new ConfigError('give impairments (e.g. --delay 20ms --loss 1%) or --clear');
      if (flags.clear && Object.keys(fields).length > 0)
        throw new ConfigError('--clear cannot be combined with impairments: give one change at a time');
      await bothWays(a, b, flags, flags.clear ? { clear: true } : { fields });
    } catch (err) {
      fail(err);
    }
  });
  for (const [verb, what] of [
    ['partition', 'cut the link between two nodes of a lab, both ways, until healed'],
    ['heal', 'end a partition between two nodes of a lab'],
  ] as const) {
    lab
      .command(verb)
      .description(what)
      .argument('<node-a>')
      .argument('<node-b>')
      .option('--name <lab>', 'which lab (default: the only one running)')
      .option('--json', 'print JSON')
      .addOption(new Option('-o, --output <format>', 'json: a versioned JSON document (docs/json.md)'))
      .action(async (a: string, b: string, flags: Flags) => {
        try {
          await bothWays(a, b, flags, { [verb]: true });
        } catch (err) {
          fail(err);
        }
      });
  }
}
